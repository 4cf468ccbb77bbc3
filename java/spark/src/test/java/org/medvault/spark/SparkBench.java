package org.medvault.spark;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.apache.spark.sql.SparkSession;

import org.medvault.app.Progress;
import org.medvault.app.release.QueryService;

/**
 * {@code scripts/bench} (its Spark part): the Spark job against the local CLI on the same vault in
 * the same run. Rows: local[1] against local[2] (speed-up), each against the in-process query on
 * as many threads, Spark's fixed cost per query (session start, key load and broadcast) against
 * the query, and a projection — labelled as such — of a registry's query time on bigger clusters
 * from the measured per-record cost. Writes bench-spark.json. Not a JUnit test (no @Test).
 */
public final class SparkBench {
    static final String QUERY = "SELECT count(*), avg(bp_sys), var(bp_sys), avg(bmi) WHERE age >= 65 AND sex = 2";

    private SparkBench() {}

    private static String f(String fmt, Object... a) {
        return String.format(Locale.ROOT, fmt, a);
    }

    public static void main(String[] args) throws Exception {
        boolean quick = List.of(args).contains("--quick");
        Path root = Path.of(System.getProperty("medvault.root", ".")).toAbsolutePath().normalize();
        int records = quick ? 16 : 48;
        int perBatch = 8;
        Path work = Files.createTempDirectory("medvault-spark-bench");
        Path keys = work.resolve("keys");
        Path vault = work.resolve("vault.db");
        SparkQueryTest.keySetAndVault(root, work, keys, vault, records / perBatch, perBatch);
        int chunks = records / perBatch;
        Path serverKey = keys.resolve("server.key");
        QueryService qs = new QueryService(Progress.NONE);

        // Baselines: the same query in this JVM, on one and on two evaluation threads.
        QueryService.RunResult local2 = qs.run(vault, serverKey, QUERY, work.resolve("local2.mvr"), 2);
        QueryService.RunResult local1 = qs.run(vault, serverKey, QUERY, work.resolve("local1.mvr"), 1);
        String expected = qs.info(work.resolve("local2.mvr")).outputsDigest();

        Map<String, Object> raw = new LinkedHashMap<>();
        List<String[]> rows = new ArrayList<>();
        Map<Integer, double[]> spark = new LinkedHashMap<>(); // cores -> {session start, query wall, key, finish}
        for (int cores : new int[] {1, 2}) {
            long s0 = System.nanoTime();
            SparkSession session = SparkSession.builder().master("local[" + cores + "]").appName("medvault bench")
                    .config("spark.ui.enabled", "false").getOrCreate();
            session.sparkContext().setLogLevel("ERROR");
            double start = (System.nanoTime() - s0) / 1e9;
            try {
                long q0 = System.nanoTime();
                SparkQuery.Outcome o = SparkQuery.run(session, new SparkQuery.Request(vault, null, serverKey, QUERY,
                        work.resolve("spark" + cores + ".mvr"), chunks));
                double wall = (System.nanoTime() - q0) / 1e9;
                String got = qs.info(work.resolve("spark" + cores + ".mvr")).outputsDigest();
                if (!got.equals(expected)) {
                    throw new IllegalStateException("Spark local[" + cores + "] outputs differ from the local CLI's");
                }
                spark.put(cores, new double[] {start, wall, o.keySeconds(), o.finishSeconds()});
                raw.put("sparkLocal" + cores, Map.of("sessionStartSeconds", start, "querySeconds", wall, "keySeconds", o.keySeconds(),
                        "jobSeconds", o.jobSeconds(), "finishSeconds", o.finishSeconds(), "partitions", o.partitions()));
            } finally {
                session.stop();
            }
        }
        double[] s1 = spark.get(1);
        double[] s2 = spark.get(2);
        rows.add(new String[] {"Spark local[2] query, " + records + " records", f("%.1f s", s2[1]), "Spark local[1]", f("%.1f s", s1[1]),
                f("%.2f", s1[1] / s2[1]), "speed-up; 2.00 = linear"});
        rows.add(new String[] {"Spark local[1] query", f("%.1f s", s1[1]), "in-process query, 1 thread", f("%.1f s", local1.seconds()),
                f("%.2f", s1[1] / local1.seconds()), "Spark's cost on one core"});
        rows.add(new String[] {"Spark local[2] query", f("%.1f s", s2[1]), "in-process query, 2 threads", f("%.1f s", local2.seconds()),
                f("%.2f", s2[1] / local2.seconds()), "Spark's cost on two cores"});
        // The first session's start is the cold one (the second reuses this JVM's classes).
        double fixed = s1[0] + s2[2];
        rows.add(new String[] {"Spark fixed cost: session start + key load", f("%.1f s", fixed), "the local[2] query", f("%.1f s", s2[1]),
                f("%.2f", fixed / s2[1]), f("cold start %.1f s, key %.1f s; paid once per job", s1[0], s2[2])});
        // Per-record cost in core-seconds from local[2] (the part that scales), and the driver's
        // per-query part (merge, suppression, squashing), which does not.
        double perRecordCoreSeconds = (s2[1] - s2[2] - s2[3]) * 2 / records;
        double driverSeconds = s2[3];
        raw.put("perRecordCoreSeconds", perRecordCoreSeconds);
        raw.put("driverFinishSeconds", driverSeconds);
        raw.put("localSeconds", Map.of("threads1", local1.seconds(), "threads2", local2.seconds()));
        raw.put("records", records);
        raw.put("chunks", chunks);

        System.out.println();
        System.out.println("| measure | MedVault on Spark | baseline | baseline value | ratio | note |");
        System.out.println("|---|---|---|---|---|---|");
        for (String[] r : rows) {
            System.out.println("| " + String.join(" | ", r) + " |");
        }
        System.out.println();
        System.out.printf(Locale.ROOT, "PROJECTION, not measured: %.2f core-seconds per record (measured above, local[2]) × records"
                + " ÷ cores, + %.1f s on the driver + %.1f s fixed; assumes linear scaling across executors.%n",
                perRecordCoreSeconds, driverSeconds, fixed);
        System.out.println();
        System.out.println("| records | 64 cores | 256 cores | 1,024 cores | one 2-core machine |");
        System.out.println("|---|---|---|---|---|");
        Map<String, Object> projection = new LinkedHashMap<>();
        for (long n : new long[] {100_000L, 1_000_000L}) {
            StringBuilder line = new StringBuilder(f("| %,d |", n));
            for (int cores : new int[] {64, 256, 1024, 2}) {
                double sec = perRecordCoreSeconds * n / cores + driverSeconds + fixed;
                projection.put(n + "@" + cores, sec);
                line.append(' ').append(duration(sec)).append(" |");
            }
            System.out.println(line);
        }
        raw.put("projectionSeconds", projection);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("quick", quick);
        out.put("query", QUERY);
        out.put("rows", rows);
        out.put("raw", raw);
        Path results = root.resolve("bench-spark.json");
        Files.writeString(results, new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(out) + "\n");
        System.out.println();
        System.out.println("Spark results written to " + results);
    }

    static String duration(double seconds) {
        if (seconds < 120) {
            return f("%.0f s", seconds);
        }
        if (seconds < 7200) {
            return f("%.0f min", seconds / 60);
        }
        if (seconds < 3 * 86400) {
            return f("%.1f h", seconds / 3600);
        }
        return f("%.1f days", seconds / 86400);
    }
}

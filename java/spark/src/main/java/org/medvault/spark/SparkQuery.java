package org.medvault.spark;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import org.medvault.app.AtomicFiles;
import org.medvault.app.Progress;
import org.medvault.app.keys.KeySetManifest;
import org.medvault.app.keys.ServerKeyFiles;
import org.medvault.app.release.QueryService;
import org.medvault.app.vault.VaultExport;
import org.medvault.app.vault.VaultStore;
import org.medvault.common.Digests;
import org.medvault.common.UserException;
import org.medvault.fhe.FheRuntime;
import org.medvault.fhe.MedVaultException;
import org.medvault.fhe.QueryExecutor;
import org.medvault.fhe.ServerKey;
import org.medvault.query.QueryPlan;
import org.medvault.query.QueryPlanner;

/**
 * {@code spark-submit --class org.medvault.spark.SparkQuery medvault-spark.jar …}: the same encrypted
 * query as {@code medvault query}, its chunks evaluated by Spark executors. The driver plans, checks
 * the vault (or its Parquet export: the vault digest is re-derived from the rows), sends the
 * server key to each executor once, merges the partial results in chunk order in the canonical
 * tree, finishes (suppression, squashing) and writes the usual result file: byte-identical outputs
 * to a local run, whatever the partitioning.
 */
@Command(name = "medvault-spark", mixinStandardHelpOptions = true, versionProvider = SparkQuery.Version.class,
        description = {"Run an encrypted query on Apache Spark: the outputs are byte-identical to 'medvault query' on",
            "the same vault, so custodians can re-derive and compare. Give --vault (the SQLite file, for local",
            "runs: the driver reads it) or --export (from 'medvault vault export --parquet', on storage every",
            "executor reads)."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:result written", "1:the query or its inputs were refused (message on stderr)", "2:usage error"})
public final class SparkQuery implements Callable<Integer> {
    @Option(names = "--master", paramLabel = "URL",
            description = "Spark master (local[2], spark://host:7077, …). Default: what spark-submit set, else local[*].")
    String master;

    @Option(names = {"-v", "--vault"}, paramLabel = "FILE", description = "The vault file (SQLite), read by the driver.")
    Path vault;

    @Option(names = "--export", paramLabel = "DIR", description = "A vault export ('medvault vault export --parquet DIR').")
    Path export;

    @Option(names = "--server-key", paramLabel = "FILE", required = true,
            description = "The key set's server.key (or its directory); sent to each executor once.")
    Path serverKey;

    @Option(names = {"-o", "--out"}, paramLabel = "FILE", required = true, description = "Result file to write.")
    Path out;

    @Option(names = "--partitions", paramLabel = "N", defaultValue = "0",
            description = "Partitions for a --vault run (default: twice Spark's parallelism, at most one per chunk).")
    int partitions;

    @Option(names = "--json", description = "Print the outcome as JSON.")
    boolean json;

    @Parameters(index = "0", paramLabel = "QUERY", description = "The query, e.g. \"SELECT count(*), avg(bmi) WHERE age >= 65\".")
    String query;

    /**
     * In local mode executors use the driver's key (one JVM) unless this is "false": then they load
     * it from the broadcast like executors of a cluster (how the tests exercise that path).
     */
    public static final String SHARE_DRIVER_KEY = "spark.medvault.shareDriverKey";

    /** What to run. Exactly one of {@code vault} and {@code export}. */
    public record Request(Path vault, Path export, Path serverKey, String query, Path out, int partitions) {}

    /**
     * The result and how the job went: partitions, runs of consecutive chunks evaluated apart,
     * seconds to load the key on the driver, seconds of the Spark job (executors, collect) and of
     * the driver's merge and finish, and how many times executors in this JVM loaded a key.
     */
    public record Outcome(QueryService.RunResult result, int partitions, int runs, double keySeconds, double jobSeconds,
                          double finishSeconds, int executorKeyLoads, String master) {}

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new SparkQuery());
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            Throwable t = e;
            while (!(t instanceof UserException || t instanceof MedVaultException) && t.getCause() != null) {
                t = t.getCause();
            }
            String message = t instanceof UserException || t instanceof MedVaultException ? t.getMessage() : e.toString();
            cmd.getErr().println("medvault-spark: " + message);
            cmd.getErr().flush();
            return t instanceof UserException u && u.isUsage() ? 2 : 1;
        });
        return cl;
    }

    @Override
    public Integer call() {
        if ((vault == null) == (export == null)) {
            throw UserException.usage("give exactly one of --vault FILE and --export DIR");
        }
        SparkSession.Builder b = SparkSession.builder().appName("medvault query");
        if (master != null) {
            b.master(master);
        } else if (System.getProperty("spark.master") == null) {
            b.master("local[*]");
        }
        SparkSession spark = b.getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        try {
            Outcome o = run(spark, new Request(vault, export, serverKey, query, out, partitions));
            QueryService.RunResult r = o.result();
            if (json) {
                System.out.println(new ObjectMapper().disable(SerializationFeature.FAIL_ON_EMPTY_BEANS).writeValueAsString(o));
            } else {
                System.out.printf(Locale.ROOT, "Wrote encrypted result %s: %d records in %.1f s on Spark %s (%d partitions, %d runs),"
                        + " %d PBS (%.1f per record)%n", r.out(), r.records(), r.seconds(), o.master(), o.partitions(), o.runs(),
                        r.pbs(), r.pbsPerRecord());
                if (r.squashSeconds() != null) {
                    System.out.printf(Locale.ROOT, "Outputs noise-squashed for threshold release in %.1f s%n", r.squashSeconds());
                }
            }
            System.out.flush();
            return 0;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new UserException("cannot print the outcome: " + e.getMessage(), e);
        } finally {
            spark.stop();
        }
    }

    /** Runs a query on {@code spark}; writes the result file atomically. */
    public static Outcome run(SparkSession spark, Request r) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Input in = r.vault() != null ? fromVault(jsc, r) : fromExport(spark, r);
        QueryPlan plan = QueryPlanner.plan(in.source().schema(), r.query(), in.records());
        long k0 = System.nanoTime();
        ServerKeyFiles.Loaded key = ServerKeyFiles.load(r.serverKey(), in.source().keyId(), in.serverKeySha256(), Progress.NONE);
        double keySeconds = (System.nanoTime() - k0) / 1e9;
        Path keyFile = Files.isDirectory(r.serverKey()) ? r.serverKey().resolve(KeySetManifest.SERVER_KEY) : r.serverKey();
        byte[] keyBytes = AtomicFiles.read(keyFile, "server key");
        String keySha = in.serverKeySha256() != null ? in.serverKeySha256() : Digests.sha256(keyBytes);
        ServerKey sk = key.key();
        Broadcast<byte[]> broadcast = jsc.broadcast(keyBytes);
        try {
            if (jsc.isLocal() && Boolean.parseBoolean(spark.conf().get(SHARE_DRIVER_KEY, "true"))) {
                ExecutorKeys.share(keySha, sk); // executors run in this JVM: the driver's key is theirs
            }
            int fail = Integer.parseInt(spark.conf().get(PartitionEvaluator.FAIL_FIRST_ATTEMPT, "-1"));
            long t0 = System.nanoTime();
            long pbs0 = FheRuntime.pbsCount();
            List<PartialResult> parts = new ArrayList<>(in.rows().mapPartitions(
                    new PartitionEvaluator(plan.nativePlan(), keySha, in.source().keyId(), broadcast, fail)).collect());
            double jobSeconds = (System.nanoTime() - t0) / 1e9;
            parts.sort(Comparator.comparingLong(PartialResult::start));
            long partialPbs = parts.stream().mapToLong(PartialResult::pbs).sum();
            long t1 = System.nanoTime();
            try (QueryExecutor driver = new QueryExecutor(plan.nativePlan())) {
                long mergePbs0 = FheRuntime.pbsCount();
                for (PartialResult p : parts) {
                    driver.merge(sk, p.state());
                }
                long[] run = driver.chunks();
                if (run[0] != 0 || run[1] != in.chunks() || driver.records() != in.records()) {
                    throw new UserException("the executors returned chunks [" + run[0] + ", " + run[1] + ") and " + driver.records()
                            + " records; the vault has " + in.chunks() + " chunks and " + in.records() + " records");
                }
                // In local mode the executors counted into this JVM's PBS counter already.
                long basePbs = jsc.isLocal() ? pbs0 : mergePbs0 - partialPbs;
                QueryService.Evaluation ev = QueryService.complete(driver, sk, key.squashing(), Progress.NONE, basePbs, t0);
                QueryService.RunResult rr = QueryService.write(r.out(), r.query(), in.source(), plan, ev, key.squashing());
                double finishSeconds = (System.nanoTime() - t1) / 1e9;
                return new Outcome(rr, in.rows().getNumPartitions(), parts.size(), keySeconds, jobSeconds, finishSeconds,
                        ExecutorKeys.loads(), jsc.master());
            }
        } finally {
            ExecutorKeys.forget(keySha, sk);
            broadcast.destroy();
            sk.close();
        }
    }

    /** The rows to evaluate and what the result names of the vault. */
    private record Input(JavaRDD<ChunkRow> rows, QueryService.Source source, String serverKeySha256, long records, long chunks) {}

    /** Local runs: the driver reads the SQLite vault (chunk digests checked) and slices it in order. */
    private static Input fromVault(JavaSparkContext jsc, Request r) {
        try (VaultStore store = VaultStore.open(r.vault())) {
            List<ChunkRow> rows = new ArrayList<>();
            long[] records = {0};
            store.forEachChunk(c -> {
                rows.add(new ChunkRow(rows.size(), Digests.sha256(c.list()),
                        c.slots().stream().mapToInt(Integer::intValue).toArray(), c.list()));
                records[0] += c.slots().size();
            });
            int parts = r.partitions() > 0 ? r.partitions() : Math.max(1, Math.min(rows.size(), 2 * jsc.defaultParallelism()));
            QueryService.Source source = new QueryService.Source(r.vault().getFileName().toString(), store.digest(),
                    store.keyId(), store.schema(), store.roster());
            return new Input(jsc.parallelize(rows, parts), source, store.serverKeyDigest(), records[0], rows.size());
        }
    }

    /**
     * Cluster runs: the export's Parquet files. The driver reads only the small columns (digests,
     * ids, slots), checks that every chunk index appears once and re-derives the vault digest,
     * which must be the manifest's; executors read the ciphertexts and check each chunk's digest.
     */
    private static Input fromExport(SparkSession spark, Request r) {
        Path dir = r.export();
        VaultExport.Manifest m = VaultExport.readManifest(dir);
        if (m.files().isEmpty()) {
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            return new Input(jsc.emptyRDD(), sourceOf(m, dir, List.of()), m.serverKeySha256(), 0, 0);
        }
        String[] paths = m.files().stream().map(f -> dir.resolve(f).toAbsolutePath().toString()).toArray(String[]::new);
        for (String p : paths) {
            if (!Files.isRegularFile(Path.of(p))) {
                throw new UserException(p + " is missing from the export (its manifest lists it)");
            }
        }
        Dataset<Row> df;
        try {
            df = spark.read().parquet(paths);
        } catch (RuntimeException e) {
            throw new UserException(dir + ": cannot read the export's Parquet files: " + e.getMessage(), e);
        }
        List<VaultExport.RecordRef> refs = new ArrayList<>();
        Set<Long> seen = new HashSet<>();
        for (Row row : df.select("seq", "sha256", "record_ids", "slots").collectAsList()) {
            long seq = row.getLong(0);
            if (seq < 0 || seq >= m.chunks() || !seen.add(seq)) {
                throw new UserException(dir + ": chunk " + seq + " is " + (seq < 0 || seq >= m.chunks() ? "outside the manifest's "
                        + m.chunks() + " chunks" : "in the export twice"));
            }
            String[] ids = row.getString(2).isEmpty() ? new String[0] : row.getString(2).split("\n", -1);
            int[] slots = ChunkRow.parseSlots(row.getString(3), seq);
            if (ids.length != slots.length || ids.length == 0) {
                throw new UserException(dir + ": chunk " + seq + " names " + ids.length + " records and " + slots.length + " slots");
            }
            for (int i = 0; i < ids.length; i++) {
                refs.add(new VaultExport.RecordRef(ids[i], row.getString(1), slots[i]));
            }
        }
        if (seen.size() != m.chunks() || refs.size() != m.records()) {
            throw new UserException(dir + ": the export holds " + seen.size() + " chunks and " + refs.size()
                    + " records; its manifest says " + m.chunks() + " and " + m.records());
        }
        QueryService.Source source = sourceOf(m, dir, refs);
        JavaRDD<ChunkRow> rows = df.select("seq", "sha256", "slots", "list").javaRDD()
                .map(row -> new ChunkRow(row.getLong(0), row.getString(1), ChunkRow.parseSlots(row.getString(2), row.getLong(0)),
                        (byte[]) row.get(3)));
        return new Input(rows, source, m.serverKeySha256(), refs.size(), m.chunks());
    }

    private static QueryService.Source sourceOf(VaultExport.Manifest m, Path dir, List<VaultExport.RecordRef> refs) {
        String digest = VaultExport.digestOf(m, dir, refs);
        if (!digest.equals(m.vaultDigest())) {
            throw new UserException(dir + ": the export's rows give vault digest " + digest.substring(0, 16)
                    + "…, its manifest says " + m.vaultDigest().substring(0, 16) + "… (rows changed, missing or added)");
        }
        return new QueryService.Source(m.vault(), digest, m.keyId(), m.schema(dir), m.roster(dir));
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"medvault-spark " + org.medvault.app.Version.get() + " (Spark " + org.apache.spark.package$.MODULE$.SPARK_VERSION() + ")"};
        }
    }
}

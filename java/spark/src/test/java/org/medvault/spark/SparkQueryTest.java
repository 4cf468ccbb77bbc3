package org.medvault.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import org.medvault.app.Progress;
import org.medvault.app.release.QueryService;
import org.medvault.app.vault.VaultExport;
import org.medvault.cli.MedVault;

/**
 * The Spark job in local mode (local[2], up to 4 attempts per task) against the local CLI on the
 * same vault: a threshold key set (2 of 3), 12 patients of examples/patients.csv stored in 6
 * batches (6 chunks), one query with additive and extremum outputs, noise-squashed.
 */
class SparkQueryTest {
    /** Over the first 12 patients: 12 records, avg(bp_sys) 140.5, max(age) 83 (computed from the CSV). */
    static final String QUERY = "SELECT count(*), avg(bp_sys), max(age) WHERE age >= 30";
    static final Path ROOT = Path.of(System.getProperty("medvault.root", "../..")).toAbsolutePath().normalize();

    @TempDir
    static Path dir;
    static SparkSession spark;
    static Path vault;
    static Path keys;
    static Path export;
    static String localOutputs;

    static void cli(String... args) {
        cliOutput(0, 0, args);
    }

    static String passphrase(int custodian) {
        return "spark test passphrase of custodian " + custodian;
    }

    /**
     * Runs the CLI in this JVM and returns stdout, asserting the exit code. The environment holds
     * every custodian's passphrase for key generation and, with {@code custodian} > 0, that
     * custodian's as MEDVAULT_PASSPHRASE (to unseal their share).
     */
    static String cliOutput(int custodian, int expectedExit, String... args) {
        Map<String, String> env = new HashMap<>();
        for (int i = 1; i <= 3; i++) {
            env.put("MEDVAULT_PASSPHRASE_" + i, passphrase(i));
        }
        if (custodian > 0) {
            env.put("MEDVAULT_PASSPHRASE", passphrase(custodian));
        }
        env.put("MEDVAULT_IDENTITY_PASSPHRASE", "spark test records admin passphrase, not a secret");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        CommandLine cl = MedVault.commandLine(env, null);
        cl.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        cl.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
        int code = cl.execute(args);
        assertEquals(expectedExit, code, () -> String.join(" ", args) + ": " + err.toString(StandardCharsets.UTF_8));
        return out.toString(StandardCharsets.UTF_8);
    }

    /**
     * A 2-of-3 threshold key set in {@code keys} and a vault of the first batches × perBatch
     * patients of examples/patients.csv, one encrypt (one chunk) per batch (also SparkBench's).
     */
    static void keySetAndVault(Path root, Path work, Path keys, Path vault, int batches, int perBatch) throws IOException {
        Path admin = work.resolve("admin.id");
        cli("identity", "create", "--out", admin.toString(), "--name", "Spark test records admin", "-q");
        cli("keys", "generate", "--custodians", "3", "--threshold", "2", "--writer", work.resolve("admin.pub").toString(), "--out",
                keys.toString(), "-q");
        cli("vault", "init", "--schema", root.resolve("examples/schema.json").toString(), "--public-key",
                keys.resolve("public.key").toString(), "--vault", vault.toString(), "-q");
        List<String> lines = Files.readAllLines(root.resolve("examples/patients.csv"));
        for (int b = 0; b < batches; b++) {
            List<String> batch = new ArrayList<>();
            batch.add(lines.get(0));
            batch.addAll(lines.subList(1 + perBatch * b, 1 + perBatch * (b + 1)));
            Path csv = work.resolve("batch-" + b + ".csv");
            Files.write(csv, batch);
            cli("encrypt", "--vault", vault.toString(), "--in", csv.toString(), "--identity", admin.toString(), "-q");
        }
    }

    @BeforeAll
    static void setUp() throws IOException {
        keys = dir.resolve("keys");
        vault = dir.resolve("vault.db");
        keySetAndVault(ROOT, dir, keys, vault, 6, 2);
        Path local = dir.resolve("local.mvr");
        cli("query", "--vault", vault.toString(), "--server-key", keys.resolve("server.key").toString(), QUERY,
                "--out", local.toString(), "-q");
        localOutputs = new QueryService(Progress.NONE).info(local).outputsDigest();
        export = dir.resolve("export");
        cli("vault", "export", "--vault", vault.toString(), "--parquet", export.toString(), "--chunks-per-file", "2", "-q");
        spark = SparkSession.builder().master("local[2,4]").appName("medvault test")
                .config("spark.ui.enabled", "false").getOrCreate();
        spark.sparkContext().setLogLevel("ERROR");
    }

    @AfterAll
    static void tearDown() {
        if (spark != null) {
            spark.stop();
        }
    }

    static SparkQuery.Outcome run(Path vaultFile, Path exportDir, String out, int partitions) {
        return SparkQuery.run(spark, new SparkQuery.Request(vaultFile, exportDir, keys.resolve("server.key"), QUERY,
                dir.resolve(out), partitions));
    }

    static String outputsOf(String file) {
        return new QueryService(Progress.NONE).info(dir.resolve(file)).outputsDigest();
    }

    /**
     * From the SQLite vault in 3 partitions, executors loading the key from the broadcast as on a
     * cluster: the outputs (encrypted and squashed) are the local CLI's, byte for byte, and the key
     * was loaded once for the JVM, not once per task.
     */
    @Test
    void vaultOnSparkGivesTheLocalOutputsAndLoadsTheKeyOnce() throws IOException {
        int loads = ExecutorKeys.loads();
        spark.conf().set(SparkQuery.SHARE_DRIVER_KEY, "false");
        SparkQuery.Outcome o;
        try {
            o = run(vault, null, "spark-vault.mvr", 3);
        } finally {
            spark.conf().unset(SparkQuery.SHARE_DRIVER_KEY);
        }
        assertEquals(3, o.partitions());
        assertEquals(3, o.runs());
        assertEquals(12, o.result().records());
        assertEquals(1, ExecutorKeys.loads() - loads, "one key load for three tasks in one executor JVM");
        assertEquals(localOutputs, outputsOf("spark-vault.mvr"), "Spark's outputs differ from the local CLI's");

        // Custodians 1 and 2 release the Spark job's result: each re-derives it on its own machine
        // (canonical evaluation: the same bytes as the cluster's), then decrypts its own derivation.
        // A derivation handed in as a file (even one the custodian's own cluster made) is never
        // decrypted: '--derived' is gone.
        String derived = dir.resolve("spark-vault.mvr").toString();
        List<String> partials = new ArrayList<>();
        for (int i = 1; i <= 2; i++) {
            String p = dir.resolve("p" + i + ".mvp").toString();
            cliOutput(i, 0, "decrypt", "partial", "--share", keys.resolve("custodian-" + i + ".share").toString(), "--result", derived,
                    "--vault", vault.toString(), "--server-key", keys.resolve("server.key").toString(), "--signers", "1,2",
                    "--out", p, "-q");
            partials.add(p);
        }
        cliOutput(3, 2, "decrypt", "partial", "--share", keys.resolve("custodian-3.share").toString(), "--result", derived,
                "--vault", vault.toString(), "--derived", derived, "--server-key", keys.resolve("server.key").toString(),
                "--signers", "1,3", "-q");
        String fingerprint = org.medvault.app.keys.KeySetManifest.parse(Files.readAllBytes(keys.resolve("key.json")), "key.json")
                .rosterFingerprint();
        List<String> combine = new ArrayList<>(List.of("decrypt", "combine", "--result", derived, "--vault", vault.toString(),
                "--roster", fingerprint, "-q"));
        combine.addAll(partials);
        String released = cliOutput(0, 0, combine.toArray(String[]::new));
        assertTrue(released.matches("(?s).*count\\(\\*\\)\\s+12\\b.*avg\\(bp_sys\\)\\s+140\\.5\\b.*max\\(age\\)\\s+83\\b.*"), released);
    }

    /**
     * From the Parquet export, with the first attempt of partition 1 failing after its first chunk
     * (Spark runs it again): the same outputs as the local CLI.
     */
    @Test
    void exportOnSparkWithARetriedTaskGivesTheLocalOutputs() throws IOException {
        VaultExport.Manifest m = VaultExport.readManifest(export);
        assertEquals(List.of("chunks/part-00000.parquet", "chunks/part-00001.parquet", "chunks/part-00002.parquet"), m.files());
        assertEquals(6, m.chunks());
        int injected = PartitionEvaluator.INJECTED.get();
        spark.conf().set(PartitionEvaluator.FAIL_FIRST_ATTEMPT, "1");
        SparkQuery.Outcome o;
        try {
            o = run(null, export, "spark-export.mvr", 0);
        } finally {
            spark.conf().unset(PartitionEvaluator.FAIL_FIRST_ATTEMPT);
        }
        assertTrue(o.partitions() >= 2, "the export was read in " + o.partitions() + " partition(s)");
        assertEquals(1, PartitionEvaluator.INJECTED.get() - injected, "partition 1 failed once and was retried");
        assertEquals(localOutputs, outputsOf("spark-export.mvr"), "a retried task changed the outputs");
        // The result names the vault the export came from: custodians' checks apply unchanged.
        QueryService.ResultInfo local = new QueryService(Progress.NONE).info(dir.resolve("local.mvr"));
        QueryService.ResultInfo fromExport = new QueryService(Progress.NONE).info(dir.resolve("spark-export.mvr"));
        assertEquals(local.vaultDigest(), fromExport.vaultDigest());
        assertEquals(local.vault(), fromExport.vault());
    }

    /** A cheater's export: rows that do not give the manifest's vault digest, a flipped ciphertext byte, a lost file. */
    @Test
    void tamperedExportsAreRefused() throws IOException {
        Path forged = copy(export, "forged-digest");
        Path manifest = forged.resolve(VaultExport.MANIFEST);
        String text = Files.readString(manifest);
        String digest = VaultExport.readManifest(forged).vaultDigest();
        Files.writeString(manifest, text.replace(digest, "0".repeat(64)));
        Exception e = assertThrows(Exception.class, () -> run(null, forged, "forged.mvr", 0));
        assertTrue(e.getMessage().contains("rows give vault digest"), e.getMessage());

        // One bit inside chunk 0's ciphertexts (found by its first bytes): its executor refuses it
        // before computing on it (and so does each of Spark's retries).
        Path flipped = copy(export, "flipped");
        Path part = flipped.resolve("chunks/part-00000.parquet");
        byte[] b = Files.readAllBytes(part);
        byte[][] first = new byte[1][];
        try (org.medvault.app.vault.VaultStore store = org.medvault.app.vault.VaultStore.open(vault)) {
            store.forEachChunk(c -> {
                if (first[0] == null) {
                    first[0] = c.list();
                }
            });
        }
        int at = indexOf(b, java.util.Arrays.copyOf(first[0], 64));
        assertTrue(at > 0, "chunk 0's ciphertexts not found in " + part);
        b[at + first[0].length / 2] ^= 0x01;
        Files.write(part, b);
        Exception f = assertThrows(Exception.class, () -> run(null, flipped, "flipped.mvr", 0));
        assertTrue(causes(f).contains("is corrupt"), causes(f));

        Path lost = copy(export, "lost");
        Files.delete(lost.resolve("chunks/part-00002.parquet"));
        Exception g = assertThrows(Exception.class, () -> run(null, lost, "lost.mvr", 0));
        assertTrue(g.getMessage().contains("is missing from the export"), g.getMessage());
        for (String out : List.of("forged.mvr", "flipped.mvr", "lost.mvr")) {
            assertTrue(Files.notExists(dir.resolve(out)), out + " was written");
        }
    }

    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /** Every message in a chain of causes (Spark wraps an executor's exception). */
    static String causes(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            sb.append(c.getMessage()).append(" | ");
        }
        return sb.toString();
    }

    static Path copy(Path from, String name) throws IOException {
        Path to = dir.resolve(name);
        try (var walk = Files.walk(from)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t);
                }
            }
        }
        return to;
    }
}

package org.medvault.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.medvault.app.Progress;
import org.medvault.app.release.QueryService;
import org.medvault.app.vault.InputFormat;
import org.medvault.app.vault.InputReader;
import org.medvault.app.vault.InputRow;
import org.medvault.app.vault.RecordCodec;
import org.medvault.app.vault.VaultService;
import org.medvault.app.vault.VaultStore;
import org.medvault.fhe.ClientKey;
import org.medvault.fhe.CompactCiphertextList;
import org.medvault.fhe.CompactPublicKey;
import org.medvault.fhe.CompressedServerKey;
import org.medvault.fhe.FheBool;
import org.medvault.fhe.FheConfig;
import org.medvault.fhe.FheRuntime;
import org.medvault.fhe.FheType;
import org.medvault.fhe.ServerKey;
import org.medvault.fhe.SubmissionKey;
import org.medvault.query.QueryPlan;
import org.medvault.schema.VaultSchema;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/**
 * {@code scripts/bench [--quick]}: every figure next to a baseline measured in the same run, as a
 * ratio. Writes {@code bench-results.json}. Nothing here is hard-coded: all rows are measured.
 */
public final class Bench {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    static final String REFERENCE = "SELECT count(*), avg(bp_sys), var(bp_sys), min(age), max(age), histogram(age, 0, 100, 10)"
            + " WHERE age >= 65 AND sex = 2 AND bmi BETWEEN 25 AND 30";
    static final String COUNT = "SELECT count(*) WHERE age >= 65 AND sex = 2";

    private record Row(String name, String value, String baselineName, String baseline, double ratio, String note) {}

    private final List<Row> rows = new ArrayList<>();
    private final Map<String, Object> raw = new LinkedHashMap<>();

    private Bench() {}

    public static void main(String[] args) throws Exception {
        boolean quick = List.of(args).contains("--quick");
        Path root = Path.of(System.getProperty("medvault.root", "."));
        Path nativeBench = root.resolve("rust/target/release/medvault-bench");
        new Bench().run(quick, root, nativeBench);
    }

    private void add(String name, String value, String baselineName, String baseline, double ratio, String note) {
        rows.add(new Row(name, value, baselineName, baseline, ratio, note));
        System.err.printf(Locale.ROOT, "  %-44s %14s   vs %-34s %14s   ratio %6.2f  %s%n", name, value, baselineName, baseline, ratio,
                note == null ? "" : note);
    }

    private static String f(String fmt, Object... a) {
        return String.format(Locale.ROOT, fmt, a);
    }

    private void run(boolean quick, Path root, Path nativeBench) throws Exception {
        int cores = Runtime.getRuntime().availableProcessors();
        System.err.println("MedVault bench" + (quick ? " (quick)" : "") + " — " + FheRuntime.nativeVersion() + ", "
                + FheRuntime.threads() + " threads on " + cores + " cores, " + System.getProperty("os.arch"));
        raw.put("machine", Map.of("cores", cores, "threads", FheRuntime.threads(), "native", FheRuntime.nativeVersion(),
                "java", System.getProperty("java.version")));
        Path work = Files.createTempDirectory("medvault-bench");
        Path examples = root.resolve("examples");

        // ---- keys
        long t0 = System.nanoTime();
        ClientKey ck = ClientKey.generate(FheConfig.defaults());
        CompactPublicKey pk = ck.compactPublicKey();
        long t1 = System.nanoTime();
        CompressedServerKey csk = ck.compressedServerKey();
        long t2 = System.nanoTime();
        ServerKey sk = csk.decompress();
        long t3 = System.nanoTime();
        Files.write(work.resolve("public.key"), pk.serialize());
        long tc = System.nanoTime();
        try (SubmissionKey sub = ck.takeSubmissionKey()) {
            Files.write(work.resolve("submission.key"), sub.publicKeyBytes());
            Files.write(work.resolve("submission.crs"), sub.crsBytes());
        }
        double crsSeconds = (System.nanoTime() - tc) / 1e9;
        byte[] cskBytes = csk.serialize();
        Files.write(work.resolve("server.key"), cskBytes);
        raw.put("keygen", Map.of("clientAndPublicSeconds", (t1 - t0) / 1e9, "compressedServerKeySeconds", (t2 - t1) / 1e9,
                "decompressSeconds", (t3 - t2) / 1e9, "compressedServerKeyBytes", cskBytes.length));
        add("keygen: compressed server key", f("%.2f s", (t2 - t1) / 1e9), "decompressing it", f("%.2f s", (t3 - t2) / 1e9),
                (double) (t2 - t1) / (t3 - t2), f("%.1f MB", cskBytes.length / 1048576.0));
        add("keygen: submission CRS (512 bits)", f("%.1f s", crsSeconds), "compressed server key", f("%.2f s", (t2 - t1) / 1e9),
                crsSeconds / ((t2 - t1) / 1e9), f("%.1f MB", Files.size(work.resolve("submission.crs")) / 1048576.0));

        // ---- per operation: the Java binding against tfhe-rs called directly from Rust
        Map<String, Double> jniOps = opsRows(quick, ck, sk, nativeBench);

        // ---- against what a user would pick instead today: node-tfhe (TFHE-rs in WebAssembly)
        Map<String, Double> ours = new LinkedHashMap<>(jniOps);
        // MedVault makes the compact public key with the client key (its hash is the key id), so
        // the comparable figure is client + public key together.
        ours.put("keygen/clientAndPublic", time(quick ? 2 : 5, () -> {
            try (ClientKey k = ClientKey.generate(FheConfig.defaults())) {
                k.compactPublicKey().close();
            }
        }));
        ours.put("keygen/compressedServer", (t2 - t1) / 1e9);
        keygenAgainstNative(ours, (t2 - t1) / 1e9);
        nodeRows(quick, root, ck, pk, ours, cskBytes.length);

        // ---- one bootstrap, single thread (the unit of the cost model)
        double pbsMs = timePbs(ck, sk, quick ? 40 : 120);
        raw.put("pbsMillis", pbsMs);

        // ---- vault encryption: batched compact lists against one list per record
        VaultService vaults = new VaultService(Progress.NONE);
        Path vault = work.resolve("vault.db");
        vaults.init(examples.resolve("schema.json"), work.resolve("public.key"), vault);
        VaultService.EncryptResult enc = vaults.encrypt(vault, examples.resolve("patients.csv"), InputFormat.CSV,
                new VaultService.EncryptOptions(false, null, null, null));
        double perRecordSeconds = baselineOneListPerRecord(vaults, examples, work, quick ? 20 : 60);
        double baselineBytes = (double) raw.get("oneListPerRecordBytes");
        add("vault encrypt: records/s (300-row batch)", f("%.0f", enc.recordsPerSecond()), "one list per record", f("%.0f", 1 / perRecordSeconds),
                enc.recordsPerSecond() * perRecordSeconds, "higher is better");
        add("vault encrypt: bytes per record", f("%.0f B", enc.bytesPerRecord()), "one list per record", f("%.0f B", baselineBytes),
                enc.bytesPerRecord() / baselineBytes, "lower is better");
        VaultService.InfoResult info = vaults.info(vault);
        double bp16 = info.fields().stream().filter(x -> x.name().equals("bmi")).findFirst().orElseThrow().bytesPerRecord() * 8 / 24;
        add("vault: bytes per stored 16-bit field", f("%.0f B", bp16), "target", "150 B", bp16 / 150, "≤ 1 meets the target");
        submissionRows(vaults, vault, examples, work, quick ? 2 : 4, perRecordSeconds, baselineBytes, enc.bytesPerRecord(), pbsMs, cores);
        raw.put("vaultEncrypt", enc);
        raw.put("vaultInfo", info);
        long pbsBefore = FheRuntime.pbsCount();
        VaultService.decryptRecord(vault, "p00001", ck);
        long readPbs = FheRuntime.pbsCount() - pbsBefore;
        add("vault: PBS to read a record back", Long.toString(readPbs), "target", "0", readPbs, "expansion needs no bootstrap");

        // ---- queries: JNI path against the same plan in Rust without JNI, and against the PBS bound
        int n = quick ? 8 : 32;
        List<String> lines = Files.readAllLines(examples.resolve("patients.csv"));
        Path qvault = vaultOf(vaults, examples, work, lines, n, "q");
        for (String[] q : new String[][] {{"reference query", REFERENCE}, {"filtered count", COUNT}}) {
            query(q[0], q[1], qvault, work, nativeBench, pbsMs, cores);
        }
        // The per-record cost without the per-query part (final sums, suppression): 2n against n.
        Path v2 = vaultOf(vaults, examples, work, lines, 2 * n, "q2");
        QueryService qs2 = new QueryService(Progress.NONE);
        QueryService.RunResult a = qs2.run(qvault, work, REFERENCE, work.resolve("m1.mvr"));
        QueryService.RunResult b = qs2.run(v2, work, REFERENCE, work.resolve("m2.mvr"));
        double marginal = (double) (b.pbs() - a.pbs()) / n;
        raw.put("referenceMarginalPbsPerRecord", marginal);
        add("reference query: marginal PBS per record", f("%.1f", marginal), "target (issue 5)", "110", marginal / 110,
                "≤ 1 meets it; naive plan > 400");

        // ---- threshold release and whole commands (separate processes: time, peak memory, threads)
        commandRows(root, work, examples, lines, n, pbsMs, cores);

        // ---- scaling: the count at 1x and 4x the records
        if (!quick) {
            Path v4 = vaultOf(vaults, examples, work, lines, 4 * n, "q4");
            QueryService qs = new QueryService(Progress.NONE);
            QueryService.RunResult r1 = qs.run(qvault, work, COUNT, work.resolve("s1.mvr"));
            QueryService.RunResult r4 = qs.run(v4, work, COUNT, work.resolve("s4.mvr"));
            add("scaling: filtered count, " + (4 * n) + " records", f("%.1f s", r4.seconds()), n + " records", f("%.1f s", r1.seconds()),
                    r4.seconds() / r1.seconds(), "4.0 = linear");
        }

        sk.close();
        csk.close();
        pk.close();
        ck.close();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("quick", quick);
        out.put("rows", rows);
        out.put("raw", raw);
        Path results = root.resolve("bench-results.json");
        Files.writeString(results, JSON.writeValueAsString(out) + "\n");
        System.out.println();
        System.out.println("| measure | MedVault | baseline | baseline value | ratio |");
        System.out.println("|---|---|---|---|---|");
        for (Row r : rows) {
            System.out.printf(Locale.ROOT, "| %s | %s | %s | %s | %.2f%s |%n", r.name(), r.value(), r.baselineName(), r.baseline(), r.ratio(),
                    r.note() == null ? "" : " (" + r.note() + ")");
        }
        System.out.println();
        System.out.println("Results written to " + results);
    }

    static final String AVG = "SELECT count(*), avg(bp_sys) WHERE age >= 65 AND sex = 2";

    /**
     * The CLI as users run it: a personal key set against the 3-of-5 ceremony, encryption of the
     * example CSV, an avg query on a threshold key with 1 and 2 threads, squash, partials and
     * combine; each command's peak memory against the JVM's own floor ({@code medvault --version}).
     */
    private void commandRows(Path root, Path work, Path examples, List<String> lines, int n, double pbsMs, int cores)
            throws Exception {
        Path jar = root.resolve("target/medvault.jar");
        if (!Files.isRegularFile(jar)) {
            System.err.println("  (command rows skipped: build " + jar + ")");
            return;
        }
        Map<String, String> env = new LinkedHashMap<>();
        for (int i = 1; i <= 5; i++) {
            env.put("MEDVAULT_PASSPHRASE_" + i, "bench custodian " + i);
        }
        env.put("MEDVAULT_PASSPHRASE", "bench personal passphrase");
        env.put("MEDVAULT_IDENTITY_PASSPHRASE", "bench records admin passphrase, not a secret");
        Path admin = work.resolve("admin.id");
        CliRun.run(jar, env, "identity", "create", "--out", admin.toString(), "--name", "Bench records admin", "-q");
        Map<String, CliRun> runs = new LinkedHashMap<>();
        CliRun floor = CliRun.run(jar, Map.of(), "--version");
        Path pkeys = work.resolve("personal-keys");
        Path tkeys = work.resolve("threshold-keys");
        runs.put("keys generate", CliRun.run(jar, env, "keys", "generate", "--out", pkeys.toString(), "-q"));
        runs.put("keys generate --custodians 5 --threshold 3",
                CliRun.run(jar, env, "keys", "generate", "--custodians", "5", "--threshold", "3", "--writer",
                        work.resolve("admin.pub").toString(), "--out", tkeys.toString(), "-q"));
        add("ceremony: 3-of-5 threshold key set (CLI)", f("%.1f s", runs.get("keys generate --custodians 5 --threshold 3").seconds()),
                "personal key set (CLI)", f("%.1f s", runs.get("keys generate").seconds()),
                runs.get("keys generate --custodians 5 --threshold 3").seconds() / runs.get("keys generate").seconds(),
                "noise-squashing keygen dominates");
        long shareBytes = Files.size(tkeys.resolve("custodian-1.share"));
        long pieces = 6 * 65536L; // C(4, 2) pieces of 4096 u128 coefficients
        add("ceremony: one custodian's share (3 of 5)", f("%.1f KB", shareBytes / 1024.0), "C(4,2) pieces × 64 KiB",
                f("%.1f KB", pieces / 1024.0), (double) shareBytes / pieces, "PRF keys, signing key, sealing");

        Path tv = work.resolve("threshold.db");
        Path csv = work.resolve("t.csv");
        Files.write(csv, lines.subList(0, n + 1));
        CliRun.run(jar, Map.of(), "vault", "init", "--schema", examples.resolve("schema.json").toString(), "--public-key",
                tkeys.resolve("public.key").toString(), "--vault", tv.toString());
        CliRun.run(jar, env, "encrypt", "--vault", tv.toString(), "--in", csv.toString(), "--identity", admin.toString(), "-q");
        Path big = work.resolve("big.db");
        CliRun.run(jar, Map.of(), "vault", "init", "--schema", examples.resolve("schema.json").toString(), "--public-key",
                tkeys.resolve("public.key").toString(), "--vault", big.toString());
        runs.put("encrypt (300 rows)", CliRun.run(jar, env, "encrypt", "--vault", big.toString(), "--in",
                examples.resolve("patients.csv").toString(), "--identity", admin.toString(), "-q"));

        Path result = work.resolve("avg.mvr");
        String[] query = {"query", "--vault", tv.toString(), "--server-key", tkeys.resolve("server.key").toString(), AVG,
            "--out", result.toString(), "--json", "-q"};
        CliRun one = CliRun.run(jar, Map.of("MEDVAULT_THREADS", "1"), query);
        CliRun two = CliRun.run(jar, Map.of("MEDVAULT_THREADS", Integer.toString(cores)), query);
        runs.put("query (threshold key, avg)", two);
        JsonNode q1 = JSON.readTree(one.out());
        JsonNode q2 = JSON.readTree(two.out());
        double bound = q2.get("pbs").asLong() * pbsMs / 1000 / cores;
        add("avg query: seconds per record", f("%.3f s", q2.get("secondsPerRecord").asDouble()), "PBS × t(PBS) ÷ cores",
                f("%.3f s", bound / n), q2.get("seconds").asDouble() / bound, "1.0 = at the bootstrap limit");
        add("threads: avg query on " + cores + " threads", f("%.2f s", q2.get("seconds").asDouble()), "1 thread",
                f("%.2f s", q1.get("seconds").asDouble()), q2.get("seconds").asDouble() / q1.get("seconds").asDouble(),
                f("%.2f = linear on %d cores", 1.0 / cores, cores));
        // In-process: a custodian's partial re-derives the result (server key, query, squash) before
        // unsealing the share and decrypting its own derivation.
        org.medvault.app.release.ReleaseService release = new org.medvault.app.release.ReleaseService();
        List<String> partials = new ArrayList<>();
        double partialSeconds = 0;
        for (int i : new int[] {1, 3, 4}) {
            Path share = tkeys.resolve("custodian-" + i + ".share");
            Path out = work.resolve("p" + i + ".mvp");
            long t = System.nanoTime();
            release.partial(share, ("bench custodian " + i).toCharArray(), result, tv, tkeys.resolve("server.key"), List.of(1, 3, 4),
                    out, new org.medvault.app.release.ReleaseLedger(work.resolve("ledger-" + i),
                            org.medvault.app.release.ReleaseLedger.DEFAULT_LIMIT));
            partialSeconds += (System.nanoTime() - t) / 1e9;
            partials.add(out.toString());
        }
        org.medvault.app.release.PartialFile p1 = org.medvault.app.release.PartialFile.parse(
                Files.readAllBytes(Path.of(partials.get(0))), partials.get(0));
        int blocks = p1.header().blocks().stream().mapToInt(Integer::intValue).sum();
        double squash = q2.get("squashSeconds").asDouble();
        add("release: squash, per squashed block", f("%.3f s", squash / blocks), "one PBS (64-bit, 1 thread)",
                f("%.1f ms", pbsMs), squash / blocks * 1000 / pbsMs, p1.header().blocks().size() + " outputs, " + blocks + " blocks");
        long u = System.nanoTime();
        org.medvault.app.keys.SecretKeyFile.open(Files.readAllBytes(tkeys.resolve("custodian-1.share")),
                "bench custodian 1".toCharArray(), "share");
        double unseal = (System.nanoTime() - u) / 1e9;
        add("release: one custodian's partial (re-derives)", f("%.3f s", partialSeconds / 3), "the analyst's query (CLI)",
                f("%.3f s", two.seconds()), partialSeconds / 3 / two.seconds(), "re-running the query is the price of safety");
        add("release: unsealing the share (Argon2id)", f("%.3f s", unseal), "one custodian's partial (re-derives)",
                f("%.3f s", partialSeconds / 3), unseal / (partialSeconds / 3), "share of the partial's time");
        long c = System.nanoTime();
        org.medvault.app.release.QueryService.Released released = release.combine(result,
                partials.stream().map(Path::of).toList(), tv, null, rosterFingerprint(tkeys));
        double combine = (System.nanoTime() - c) / 1e9;
        long l = System.nanoTime();
        byte[] resultBytes = Files.readAllBytes(result); // read once, as combine does
        org.medvault.app.release.ResultFile.digest(resultBytes);
        org.medvault.app.release.ResultFile.parse(resultBytes, result.toString());
        double load = (System.nanoTime() - l) / 1e9;
        add("release: combine 3 partials", f("%.3f s", combine), "reading + hashing the result", f("%.3f s", load), combine / load,
                released.statistics().get(0).suppressed() ? "count suppressed: cohort < k"
                        : "released count " + released.statistics().get(0).value());
        runs.put("decrypt partial", CliRun.run(jar, Map.of("MEDVAULT_PASSPHRASE", "bench custodian 1"), "decrypt", "partial",
                "--share", tkeys.resolve("custodian-1.share").toString(), "--result", result.toString(), "--vault", tv.toString(),
                "--server-key", tkeys.resolve("server.key").toString(), "--signers", "1,3,4",
                "--out", work.resolve("cli-p1.mvp").toString(), "-q"));
        runs.put("decrypt combine", CliRun.run(jar, Map.of(), "decrypt", "combine", "--result", result.toString(),
                "--vault", tv.toString(), "--roster", rosterFingerprint(tkeys), partials.get(0), partials.get(1), partials.get(2)));
        // What a custodian's provenance check costs: every chunk's writer signature (300 records),
        // against the vault digest it computes anyway.
        try (org.medvault.app.vault.VaultStore store = org.medvault.app.vault.VaultStore.open(big)) {
            List<String> writers = store.roster().writerKeys();
            store.checkWriters(writers); // warm up (class loading, the JDK's Ed25519)
            double check = time(5, () -> store.checkWriters(writers));
            double digest = time(5, store::digest);
            org.medvault.app.vault.VaultStore.Provenance p = store.checkWriters(writers);
            add("release: check every chunk's writer signature", f("%.1f ms", check * 1000), "the vault digest (300 records)",
                    f("%.1f ms", digest * 1000), check / digest, p.chunks() + " chunks, " + p.records() + " records");
        }

        Map<String, Object> memory = new LinkedHashMap<>();
        memory.put("floorKiB", floor.peakKiB());
        runs.forEach((name, r) -> memory.put(name, Map.of("seconds", r.seconds(), "peakKiB", r.peakKiB())));
        raw.put("commands", memory);
        raw.put("threads", Map.of("one", q1, "all", q2));
        if (!CliRun.measuresMemory()) {
            System.err.println("  (peak-memory rows skipped: install GNU time, /usr/bin/time)");
            return;
        }
        for (Map.Entry<String, CliRun> e : runs.entrySet()) {
            add("peak memory: " + e.getKey(), f("%.0f MB", e.getValue().peakKiB() / 1024.0), "JVM floor (medvault --version)",
                    f("%.0f MB", floor.peakKiB() / 1024.0), (double) e.getValue().peakKiB() / floor.peakKiB(),
                    f("%.1f s", e.getValue().seconds()));
        }
    }

    /** A vault of the first {@code records} example rows, under the bench's public key. */
    private static Path vaultOf(VaultService vaults, Path examples, Path work, List<String> lines, int records, String name)
            throws IOException {
        Path csv = work.resolve(name + ".csv");
        Files.write(csv, lines.subList(0, records + 1));
        Path vault = work.resolve(name + ".db");
        vaults.init(examples.resolve("schema.json"), work.resolve("public.key"), vault);
        vaults.encrypt(vault, csv, InputFormat.CSV, new VaultService.EncryptOptions(false, null, null, null));
        return vault;
    }

    /**
     * Mean seconds per call. Slow operations: one warm-up, then {@code reps} runs. Fast ones (under
     * 10 ms): warm up for 0.1 s (JIT), then run for at least 0.25 s — the same policy as the Rust
     * baseline's {@code time}, so microsecond rows compare like with like.
     */
    private static String rosterFingerprint(Path keys) throws IOException {
        return org.medvault.app.keys.KeySetManifest.parse(Files.readAllBytes(keys.resolve("key.json")), "key.json").rosterFingerprint();
    }

    private static double time(int reps, Runnable r) {
        long t0 = System.nanoTime();
        r.run();
        if (System.nanoTime() - t0 < 10_000_000L) {
            long w = System.nanoTime();
            while (System.nanoTime() - w < 100_000_000L) {
                r.run();
            }
            long t = System.nanoTime();
            long n = 0;
            while (n < reps || System.nanoTime() - t < 250_000_000L) {
                r.run();
                n++;
            }
            return (System.nanoTime() - t) / 1e9 / n;
        }
        long t = System.nanoTime();
        for (int i = 0; i < reps; i++) {
            r.run();
        }
        return (System.nanoTime() - t) / 1e9 / reps;
    }

    /** Keygen through JNI against the Rust baseline's (raw.opsNative, from the per-operation run). */
    private void keygenAgainstNative(Map<String, Double> ours, double compressedServerSeconds) {
        if (!(raw.get("opsNative") instanceof JsonNode nat)) {
            return;
        }
        if (nat.has("keygen/client+public")) {
            double n = nat.get("keygen/client+public").asDouble();
            add("keygen: client + compact public key (JNI)", fmtSeconds(ours.get("keygen/clientAndPublic")), "tfhe-rs from Rust",
                    fmtSeconds(n), ours.get("keygen/clientAndPublic") / n, null);
        }
        if (nat.has("keygen/compressed-server")) {
            double n = nat.get("keygen/compressed-server").asDouble();
            add("keygen: compressed server key (JNI)", fmtSeconds(compressedServerSeconds), "tfhe-rs from Rust", fmtSeconds(n),
                    compressedServerSeconds / n, "one run each");
        }
    }

    /**
     * node-tfhe rows: the same client-side operations with the same parameters through Zama's npm
     * package (WebAssembly, one thread), run by scripts/node-bench/bench.js in this run.
     */
    private void nodeRows(boolean quick, Path root, ClientKey ck, CompactPublicKey pk, Map<String, Double> ours,
                          long compressedServerKeyBytes) throws Exception {
        Path script = root.resolve("scripts/node-bench/bench.js");
        if (!Files.isDirectory(root.resolve("scripts/node-bench/node_modules/node-tfhe"))) {
            System.err.println("  (node-tfhe rows skipped: run 'npm ci' in scripts/node-bench; scripts/bench does when npm exists)");
            return;
        }
        int reps = quick ? 1 : 5; // slow operations; fast ones run >= 0.25 s anyway
        long[] list = {0, 1, 2, 3, 42, 100, 127, 128, 200, 255};
        org.medvault.fhe.CompactCiphertextList[] last = new org.medvault.fhe.CompactCiphertextList[1];
        ours.put("publicEncrypt/list10x8", time(5, () -> {
            org.medvault.fhe.CompactCiphertextList.Builder b = pk.listBuilder();
            for (long v : list) {
                b.push(org.medvault.fhe.FheType.UINT8, v);
            }
            if (last[0] != null) {
                last[0].close();
            }
            last[0] = b.build();
        }));
        ours.put("expand/list10x8", time(5, () -> last[0].expand().forEach(org.medvault.fhe.Ciphertext::close)));
        Map<String, Long> ourBytes = new LinkedHashMap<>();
        try (org.medvault.fhe.FheUint8 a = org.medvault.fhe.FheUint8.encrypt(ck, 173);
             org.medvault.fhe.FheUint16 b = org.medvault.fhe.FheUint16.encrypt(ck, 51234)) {
            ourBytes.put("bytes/serialized8", (long) a.serialize().length);
            ourBytes.put("bytes/serialized16", (long) b.serialize().length);
        }
        ourBytes.put("bytes/list10x8", (long) last[0].serialize().length);
        ourBytes.put("bytes/compressedServerKey", compressedServerKeyBytes);
        last[0].close();

        Process p = new ProcessBuilder("node", script.toString(), Integer.toString(reps))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("node-tfhe bench failed: " + out);
        }
        com.fasterxml.jackson.databind.node.ObjectNode node = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(out);
        if (node.has("keygen/client") && node.has("keygen/publicCompact")) {
            node.put("keygen/clientAndPublic", node.get("keygen/client").asDouble() + node.get("keygen/publicCompact").asDouble());
        }
        raw.put("nodeTfhe", node);
        raw.put("oursAgainstNode", Map.of("seconds", ours, "bytes", ourBytes));
        String who = "node-tfhe " + node.path("meta").path("nodeTfhe").asText() + " (wasm, 1 thread)";
        String[][] timed = {
            {"keygen/clientAndPublic", "keygen: client + compact public key"},
            {"keygen/compressedServer", "keygen: compressed server key (" + FheRuntime.threads() + " threads vs 1)"},
            {"publicEncrypt/list10x8", "public-key encrypt: list of 10 FheUint8"},
            {"expand/list10x8", "expand: list of 10 FheUint8"}, {"encrypt/8", "encrypt FheUint8"}, {"encrypt/16", "encrypt FheUint16"},
            {"decrypt/8", "decrypt FheUint8"}, {"decrypt/16", "decrypt FheUint16"}, {"serialize/8", "serialize FheUint8"},
            {"serialize/16", "serialize FheUint16"}, {"deserialize/8", "deserialize FheUint8"},
            {"deserialize/16", "deserialize FheUint16"}};
        for (String[] t : timed) {
            Double mine = ours.get(t[0]);
            JsonNode theirs = node.get(t[0]);
            if (mine != null && theirs != null && theirs.isNumber()) {
                add("vs node-tfhe: " + t[1], fmtSeconds(mine), who, fmtSeconds(theirs.asDouble()), mine / theirs.asDouble(),
                        "< 1: MedVault faster");
            }
        }
        for (Map.Entry<String, Long> e : ourBytes.entrySet()) {
            JsonNode theirs = node.get(e.getKey());
            if (theirs != null && theirs.isNumber()) {
                add("vs node-tfhe: " + e.getKey().substring(6) + " bytes", f("%d B", e.getValue()), who, f("%d B", theirs.asLong()),
                        (double) e.getValue() / theirs.asLong(), "< 1: MedVault smaller");
            }
        }
        JsonNode missing = node.path("meta").path("missing");
        if (missing.has("ops")) {
            System.err.println("  (node-tfhe has no homomorphic operations from JavaScript: " + missing.get("ops").asText() + ")");
        }
    }

    private Map<String, Double> opsRows(boolean quick, ClientKey ck, ServerKey sk, Path nativeBench) throws Exception {
        String widths = quick ? "8,16" : "8,16,32,64";
        int reps = quick ? 2 : 3;
        int sumN = quick ? 100 : 1000;
        Map<String, Double> jni = new LinkedHashMap<>();
        for (String w : widths.split(",")) {
            org.medvault.fhe.FheType<? extends org.medvault.fhe.FheUint<?>> type = switch (w) {
                case "8" -> org.medvault.fhe.FheType.UINT8;
                case "16" -> org.medvault.fhe.FheType.UINT16;
                case "32" -> org.medvault.fhe.FheType.UINT32;
                default -> org.medvault.fhe.FheType.UINT64;
            };
            opsFor(type, w, reps, ck, sk, jni);
        }
        List<org.medvault.fhe.FheUint8> many = new ArrayList<>();
        for (int i = 0; i < sumN; i++) {
            many.add(org.medvault.fhe.FheUint8.encrypt(ck, i % 256));
        }
        long t = System.nanoTime();
        sk.sum(many).close();
        jni.put("sum/8", (System.nanoTime() - t) / 1e9);
        many.forEach(org.medvault.fhe.Ciphertext::close);
        if (!Files.isExecutable(nativeBench)) {
            System.err.println("  (per-operation native baseline skipped: build " + nativeBench + ")");
            return jni;
        }
        Process p = new ProcessBuilder(nativeBench.toString(), "ops", widths, Integer.toString(reps), Integer.toString(sumN))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("native ops bench failed: " + out);
        }
        JsonNode nat = JSON.readTree(out);
        raw.put("opsJni", jni);
        raw.put("opsNative", nat);
        for (Map.Entry<String, Double> e : jni.entrySet()) {
            JsonNode n = nat.get(e.getKey());
            if (n == null) {
                continue;
            }
            String label = e.getKey().equals("sum/8") ? "sum of " + sumN + " FheUint8" : e.getKey().replace("/", " FheUint");
            add("op: " + label + " (JNI)", fmtSeconds(e.getValue()), "tfhe-rs from Rust", fmtSeconds(n.asDouble()),
                    e.getValue() / n.asDouble(), null);
        }
        return jni;
    }

    private static String fmtSeconds(double s) {
        return s >= 0.1 ? f("%.3f s", s) : s >= 1e-4 ? f("%.2f ms", s * 1e3) : f("%.1f µs", s * 1e6);
    }

    private static <T extends org.medvault.fhe.FheUint<T>> void opsFor(org.medvault.fhe.FheType<? extends org.medvault.fhe.FheUint<?>> anyType,
            String w, int reps, ClientKey ck, ServerKey sk, Map<String, Double> out) {
        @SuppressWarnings("unchecked")
        org.medvault.fhe.FheType<T> type = (org.medvault.fhe.FheType<T>) anyType;
        try (T a = ck.encrypt(type, 200); T b = ck.encrypt(type, 100); FheBool c = FheBool.encrypt(ck, true)) {
            out.put("encrypt/" + w, time(reps, () -> ck.encrypt(type, 7).close()));
            out.put("decrypt/" + w, time(reps, () -> ck.decrypt(a)));
            byte[] bytes = a.serialize();
            out.put("serialize/" + w, time(reps, a::serialize));
            out.put("deserialize/" + w, time(reps, () -> org.medvault.fhe.Ciphertext.deserialize(type, bytes).close()));
            out.put("add/" + w, time(reps, () -> sk.add(a, b).close()));
            out.put("mul/" + w, time(reps, () -> sk.mul(a, b).close()));
            out.put("gt/" + w, time(reps, () -> sk.gt(a, b).close()));
            out.put("select/" + w, time(reps, () -> sk.select(c, a, b).close()));
        }
    }

    private static double timePbs(ClientKey ck, ServerKey sk, int reps) {
        try (FheBool a = FheBool.encrypt(ck, true); FheBool b = FheBool.encrypt(ck, false)) {
            for (int i = 0; i < 5; i++) {
                sk.and(a, b).close(); // warm-up
            }
            long p0 = FheRuntime.pbsCount();
            long t = System.nanoTime();
            for (int i = 0; i < reps; i++) {
                sk.and(a, b).close();
            }
            double ms = (System.nanoTime() - t) / 1e6;
            long pbs = FheRuntime.pbsCount() - p0;
            return ms / pbs;
        }
    }

    /** Unproven encryption of one record per compact list with the trusted public key: seconds per record. */
    private double baselineOneListPerRecord(VaultService vaults, Path examples, Path work, int count) throws IOException {
        VaultSchema schema = VaultSchema.parse(Files.readAllBytes(examples.resolve("schema.json")), "schema.json");
        List<FheType<?>> layout = schema.recordLayout();
        long[] values = demoValues(schema, examples);
        long bytes = 0;
        long t = System.nanoTime();
        try (CompactPublicKey pk = CompactPublicKey.deserialize(Files.readAllBytes(work.resolve("public.key")))) {
            for (int i = 0; i < count; i++) {
                CompactCiphertextList.Builder b = pk.listBuilder();
                for (int j = 0; j < layout.size(); j++) {
                    b.push(layout.get(j), values[j]);
                }
                try (CompactCiphertextList list = b.build()) {
                    bytes += list.serialize().length;
                }
            }
        }
        double seconds = (System.nanoTime() - t) / 1e9;
        raw.put("oneListPerRecordBytes", (double) bytes / count);
        return seconds / count;
    }

    /** The example patient's record (examples/my-record.json), encoded. */
    private static long[] demoValues(VaultSchema schema, Path examples) {
        List<InputRow> rows = new ArrayList<>();
        InputReader.read(examples.resolve("my-record.json"), InputFormat.JSONL, schema, rows::add);
        return new RecordCodec(schema).encode(rows.get(0)).values();
    }

    /** Proven submissions: proving (the patient's wait), the record file, and import (verify + sanitize). */
    private void submissionRows(VaultService vaults, Path vault, Path examples, Path work, int count, double unprovenSeconds,
                                double unprovenBytes, double batchBytesPerRecord, double pbsMs, int cores) throws IOException {
        Path kit = work.resolve("kit");
        vaults.kit(vault, kit);
        List<Path> files = new ArrayList<>();
        double prove = 0;
        long fileBytes = 0;
        for (int i = 0; i < count; i++) {
            Path rec = work.resolve("sub-" + i + ".mvrec");
            VaultService.RecordFileResult r = vaults.encryptRecord(kit, examples.resolve("my-record.json"), "sub-" + i, rec);
            prove += r.proveSeconds();
            fileBytes += r.bytes();
            files.add(rec);
        }
        prove /= count;
        add("submission: prove one record (JNI)", f("%.2f s", prove), "unproven one-record list", f("%.3f s", unprovenSeconds),
                prove / unprovenSeconds, "ZKv2, compute load on the prover's side: Verify");
        add("submission: proven record file", f("%.1f KB", fileBytes / 1024.0 / count), "unproven one-record list",
                f("%.1f KB", unprovenBytes / 1024), fileBytes / count / unprovenBytes, "proof + dedicated-key ciphertexts");
        VaultService.ImportResult imp = vaults.importRecords(vault, files, work.resolve("server.key"));
        add("import: verify one proof", f("%.2f s", imp.verifySeconds()), "prove it (JNI)", f("%.2f s", prove),
                imp.verifySeconds() / prove, "ZkComputeLoad.Verify puts work on the verifier");
        double bound = imp.pbsPerRecord() * pbsMs / 1000 / cores;
        add("import: cast + sanitize + clamp per record", f("%.2f s", imp.secondsPerRecord()), "its PBS × t(PBS) ÷ cores",
                f("%.2f s", bound), imp.secondsPerRecord() / bound, imp.pbsPerRecord() + " PBS: cast, clamp, squares");
        add("import: stored bytes per submitted record", f("%.0f KB", imp.bytesPerRecord() / 1024), "per batch record",
                f("%.1f KB", batchBytesPerRecord / 1024), imp.bytesPerRecord() / batchBytesPerRecord,
                "sanitized ciphertexts, 0 PBS to read");
        raw.put("submission", Map.of("proveSeconds", prove, "fileBytes", fileBytes / count, "import", imp));
    }

    private void query(String name, String query, Path vault, Path work, Path nativeBench, double pbsMs, int cores) throws Exception {
        QueryService qs = new QueryService(Progress.NONE);
        QueryPlan plan = qs.plan(vault, query);
        QueryService.RunResult r = qs.run(vault, work, query, work.resolve("r.mvr"));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("query", query);
        m.put("jni", r);
        m.put("estimatedPbsPerRecord", plan.estimatedPbsPerRecord());
        add(name + ": PBS per record", f("%.1f", r.pbsPerRecord()), "estimate (cost model)", f("%.1f", plan.estimatedPbsPerRecord()),
                r.pbsPerRecord() / plan.estimatedPbsPerRecord(), null);
        double bound = r.pbs() * pbsMs / 1000 / cores;
        add(name + ": seconds per record", f("%.3f s", r.secondsPerRecord()), "PBS × t(PBS) ÷ cores", f("%.3f s", bound / r.records()),
                r.seconds() / bound, "1.0 = at the bootstrap limit");
        // The same plan and chunks, run by the Rust binary without a JVM.
        Path dir = work.resolve("native-" + name.replace(' ', '-'));
        Files.createDirectories(dir);
        Files.copy(work.resolve("server.key"), dir.resolve("server.key"));
        Files.writeString(dir.resolve("plan.json"), plan.nativePlan());
        try (VaultStore store = VaultStore.open(vault)) {
            int[] i = {0};
            store.forEachChunk(c -> {
                try {
                    Files.write(dir.resolve("chunk-" + i[0] + ".bin"), c.list());
                    StringBuilder sb = new StringBuilder();
                    c.slots().forEach(s -> sb.append(s).append(' '));
                    Files.writeString(dir.resolve("chunk-" + i[0] + ".slots"), sb.toString());
                    i[0]++;
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        }
        if (Files.isExecutable(nativeBench)) {
            Process p = new ProcessBuilder(nativeBench.toString(), "query", dir.toString()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0) {
                throw new IllegalStateException("native bench failed: " + out);
            }
            JsonNode nat = JSON.readTree(out);
            double ns = nat.get("seconds").asDouble();
            m.put("native", nat);
            add(name + ": JNI path", f("%.2f s", r.seconds()), "same plan in Rust, no JNI", f("%.2f s", ns), r.seconds() / ns,
                    "PBS " + r.pbs() + " vs " + nat.get("pbs").asLong());
        } else {
            System.err.println("  (native baseline skipped: build " + nativeBench + ")");
        }
        raw.put(name, m);
    }
}

package org.medvault.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * kill -9 at several moments of the commands that write: afterwards every key directory, vault and
 * output is exactly as before or complete, never in between. Part of {@code scripts/test --hostile}
 * (minutes of key generation and FHE work); the SIGKILL-mid-batch test of {@code encrypt} runs in
 * every {@code scripts/test}.
 */
@EnabledIfEnvironmentVariable(named = "MEDVAULT_HOSTILE_TESTS", matches = ".+")
class FaultInjectionTest {
    static final Path EXAMPLES = Path.of(System.getProperty("user.dir"), "examples");
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;
    static int killed;
    static int completed;

    /** Starts the CLI in a child JVM, kills it (SIGKILL) after {@code millis} if it still runs; true if killed. */
    static boolean runAndKill(Map<String, String> env, long millis, String... args) throws Exception {
        return runAndKill(env, null, millis, args);
    }

    /**
     * Like {@link #runAndKill(Map, long, String...)}, but counts {@code millis} from the first output
     * line containing {@code trigger} (a progress line such as "writing"), to aim at one phase.
     */
    static boolean runAndKill(Map<String, String> env, String trigger, long millis, String... args) throws Exception {
        Process p = Cli.spawn(env, List.of(args));
        java.util.concurrent.CountDownLatch seen = new java.util.concurrent.CountDownLatch(trigger == null ? 0 : 1);
        Thread reader = new Thread(() -> {
            try (java.io.BufferedReader r = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(),
                    java.nio.charset.StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (trigger != null && line.contains(trigger)) {
                        seen.countDown();
                    }
                }
            } catch (IOException ignored) {
                // the child was killed
            }
        });
        reader.setDaemon(true);
        reader.start();
        seen.await(180, java.util.concurrent.TimeUnit.SECONDS);
        if (p.waitFor(millis, java.util.concurrent.TimeUnit.MILLISECONDS)) {
            completed++;
            return false;
        }
        p.destroyForcibly().waitFor();
        killed++;
        return true;
    }

    static List<String> visible(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).sorted().toList();
        }
    }

    static String keyId(Path dir) throws IOException {
        return JSON.readTree(dir.resolve("key.json").toFile()).get("keyId").asText();
    }

    @Test
    void keyGenerationKilledAtAnyMomentLeavesNoKeysOrAWholeSet() throws Exception {
        Map<String, String> env = SharedKeySet.ENV;
        List<String> problems = new ArrayList<>();
        // During generation (seconds), then around the write phase (from the "writing" progress line).
        List<Object[]> plan = new ArrayList<>();
        for (long d : new long[] {400, 3000, 7000}) {
            plan.add(new Object[] {null, d});
        }
        for (long d : new long[] {0, 20, 60, 150, 300, 600, 1200}) {
            plan.add(new Object[] {"writing", d});
        }
        for (Object[] step : plan) {
            long d = (Long) step[1];
            Path dir = tmp.resolve("gen-" + step[0] + "-" + d);
            boolean wasKilled = runAndKill(env, (String) step[0], d, "keys", "generate", "--out", dir.toString());
            List<String> files = visible(dir);
            if (files.isEmpty()) {
                continue; // as before: nothing
            }
            Cli.Result v = Cli.run(env, "keys", "verify", dir.toString(), "--check-secret", "-q");
            if (v.exit() != 0) {
                problems.add("killed after " + d + " ms" + (wasKilled ? "" : " (finished)") + ": " + files + " — " + v.err().strip());
            }
        }
        // Over an existing set with --force: the old set, or the whole new one.
        Path base = tmp.resolve("force");
        assertEquals(0, Cli.run(env, "keys", "generate", "--out", base.toString(), "-q").exit());
        String oldId = keyId(base);
        for (long d : new long[] {0, 30, 100, 300, 800}) {
            runAndKill(env, "writing", d, "keys", "generate", "--out", base.toString(), "--force");
            Cli.Result v = Cli.run(env, "keys", "verify", base.toString(), "--check-secret", "-q");
            if (v.exit() != 0) {
                problems.add("--force killed after " + d + " ms: " + visible(base) + " — " + v.err().strip());
            }
        }
        if (!problems.isEmpty()) {
            fail("key directories left between states:\n  " + String.join("\n  ", problems));
        }
        assertTrue(killed >= 4, "killed " + killed + " runs mid-way");
        // The next generation cleans up what a killed one staged.
        Path clean = tmp.resolve("gen-null-400");
        if (visible(clean).isEmpty()) {
            assertEquals(0, Cli.run(env, "keys", "generate", "--out", clean.toString(), "-q").exit());
            try (Stream<Path> s = Files.list(clean)) {
                assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".incomplete")), "staging removed");
            }
        }
        System.out.println("FaultInjectionTest: key generation killed " + killed + " times, completed " + completed
                + "; old key " + oldId.substring(0, 8) + "… or a whole new set every time");
    }

    @Test
    void queryAndImportKilledLeaveNoHalfResultAndAnUnchangedVault() throws Exception {
        Path keys = SharedKeySet.dir();
        Path vault = tmp.resolve("v.db");
        assertEquals(0, Cli.run(Map.of(), "vault", "init", "--schema", EXAMPLES.resolve("schema.json").toString(),
                "--public-key", keys.resolve("public.key").toString(), "--vault", vault.toString(), "-q").exit());
        Path csv = tmp.resolve("twenty.csv");
        Files.write(csv, Files.readAllLines(EXAMPLES.resolve("patients.csv")).subList(0, 21));
        assertEquals(0, Cli.run(Map.of(), "encrypt", "--vault", vault.toString(), "--in", csv.toString(), "-q").exit());
        String digest = info(vault).get("digest").asText();
        List<String> problems = new ArrayList<>();
        for (long d : new long[] {1500, 4000, 8000}) {
            Path out = tmp.resolve("r-" + d + ".mvr");
            runAndKill(Map.of(), d, "query", "--vault", vault.toString(), "--server-key", keys.toString(),
                    "SELECT count(*), avg(bp_sys) WHERE age >= 40", "--out", out.toString(), "-q");
            if (Files.exists(out) && Cli.run(Map.of(), "result", "info", out.toString()).exit() != 0) {
                problems.add("query killed after " + d + " ms left a broken " + out.getFileName());
            }
            try (Stream<Path> s = Files.list(tmp)) {
                s.filter(p -> p.getFileName().toString().endsWith(".tmp")).forEach(p -> problems.add("left " + p.getFileName()));
            }
        }
        Path kit = tmp.resolve("kit");
        assertEquals(0, Cli.run(Map.of(), "vault", "kit", "--vault", vault.toString(), "--out", kit.toString(), "-q").exit());
        Path rec = tmp.resolve("me.mvrec");
        assertEquals(0, Cli.run(Map.of(), "record", "encrypt", "--kit", kit.toString(), "--in",
                EXAMPLES.resolve("my-record.json").toString(), "--out", rec.toString(), "-q").exit());
        for (long d : new long[] {3000, 12000}) {
            runAndKill(Map.of(), d, "vault", "import", "--vault", vault.toString(), "--server-key", keys.toString(), rec.toString(), "-q");
            JsonNode after = info(vault);
            if (!after.get("digest").asText().equals(digest) && after.get("records").asLong() != 21) {
                problems.add("import killed after " + d + " ms: " + after.get("records") + " records, digest changed");
            }
            if (after.get("records").asLong() == 21) {
                break; // completed: the record is in, whole
            }
        }
        if (!problems.isEmpty()) {
            fail(String.join("\n", problems));
        }
    }

    static String custodianPass(int i) {
        return "fault injection custodian " + i + " passphrase";
    }

    @Test
    void ceremonyAndPartialKilledLeaveNothingOrWholeFiles() throws Exception {
        Map<String, String> env = new java.util.HashMap<>();
        for (int i = 1; i <= 3; i++) {
            env.put("MEDVAULT_PASSPHRASE_" + i, custodianPass(i));
        }
        List<String> problems = new ArrayList<>();
        int before = killed;
        // The ceremony: during key generation and dealing (seconds), then around the write phase.
        List<Object[]> plan = new ArrayList<>();
        for (long d : new long[] {500, 4000}) {
            plan.add(new Object[] {null, d});
        }
        for (long d : new long[] {0, 40, 150, 500}) {
            plan.add(new Object[] {"writing", d});
        }
        Path admin = Cli.writer(tmp);
        Path adminPub = org.medvault.app.keys.Identity.publicFileOf(admin);
        Path whole = null;
        for (Object[] step : plan) {
            long d = (Long) step[1];
            Path dir = tmp.resolve("ceremony-" + step[0] + "-" + d);
            boolean wasKilled = runAndKill(env, (String) step[0], d, "keys", "generate", "--custodians", "3", "--threshold", "2",
                    "--writer", adminPub.toString(), "--out", dir.toString());
            List<String> files = visible(dir);
            if (files.isEmpty()) {
                continue;
            }
            Cli.Result v = Cli.run(Map.of(), "keys", "verify", dir.toString(), "-q");
            if (v.exit() != 0 || files.contains("client.key")) {
                problems.add("ceremony killed after " + d + " ms" + (wasKilled ? "" : " (finished)") + ": " + files + " — " + v.err().strip());
            } else {
                whole = dir;
            }
        }
        if (whole == null) {
            whole = tmp.resolve("ceremony-whole");
            assertEquals(0, Cli.run(env, "keys", "generate", "--custodians", "3", "--threshold", "2", "--writer", adminPub.toString(),
                    "--out", whole.toString(), "-q").exit());
        }
        // A custodian's partial decryption (re-derivation on the custodian's vault copy, then the partial).
        Path vault = tmp.resolve("threshold.db");
        assertEquals(0, Cli.run(Map.of(), "vault", "init", "--schema", EXAMPLES.resolve("schema.json").toString(),
                "--public-key", whole.resolve("public.key").toString(), "--vault", vault.toString(), "-q").exit());
        Path csv = tmp.resolve("twelve.csv"); // over the schema's minimum cohort of 11: the count is released
        Files.write(csv, Files.readAllLines(EXAMPLES.resolve("patients.csv")).subList(0, 13));
        assertEquals(0, Cli.run(Cli.ADMIN_ENV, "encrypt", "--vault", vault.toString(), "--in", csv.toString(), "--identity",
                admin.toString(), "-q").exit());
        Path result = tmp.resolve("t.mvr");
        assertEquals(0, Cli.run(Map.of(), "query", "--vault", vault.toString(), "--server-key", whole.resolve("server.key").toString(),
                "SELECT count(*), max(age)", "--out", result.toString(), "-q").exit());
        Path honest = tmp.resolve("p2.mvp");
        Cli.Result p2 = Cli.run(Map.of("MEDVAULT_PASSPHRASE", custodianPass(2)), "decrypt", "partial", "--share",
                whole.resolve("custodian-2.share").toString(), "--result", result.toString(), "--vault", vault.toString(),
                "--server-key", whole.resolve("server.key").toString(), "--signers", "1,2", "--out", honest.toString(), "-q");
        assertEquals(0, p2.exit(), p2.toString());
        for (long d : new long[] {800, 3000, 8000, 15000}) {
            Path out = tmp.resolve("p1-" + d + ".mvp");
            boolean wasKilled = runAndKill(Map.of("MEDVAULT_PASSPHRASE", custodianPass(1)), d, "decrypt", "partial", "--share",
                    whole.resolve("custodian-1.share").toString(), "--result", result.toString(), "--vault", vault.toString(),
                    "--server-key", whole.resolve("server.key").toString(), "--signers", "1,2", "--out", out.toString(), "-q");
            if (Files.exists(out)) {
                Cli.Result c = Cli.run(Map.of(), "decrypt", "combine", "--result", result.toString(), "--vault", vault.toString(),
                        "--json", out.toString(), honest.toString());
                if (c.exit() != 0 || !JSON.readTree(c.out()).get("statistics").get(0).get("value").asText().equals("12")) {
                    problems.add("partial killed after " + d + " ms" + (wasKilled ? "" : " (finished)") + " left " + out.getFileName()
                            + " that does not combine: " + c.err().strip());
                }
            }
            try (Stream<Path> s = Files.list(tmp)) {
                s.filter(p -> p.getFileName().toString().endsWith(".tmp")).forEach(p -> problems.add("left " + p.getFileName()));
            }
            if (!wasKilled) {
                break;
            }
        }
        if (!problems.isEmpty()) {
            fail(String.join("\n", problems));
        }
        assertTrue(killed - before >= 3, "killed " + (killed - before) + " runs mid-way");
        System.out.println("FaultInjectionTest: ceremony and partial killed " + (killed - before) + " times; nothing or whole files");
    }

    /** A small tmpfs (needs root to mount; skipped otherwise): a full disk is a clear error and loses nothing. */
    @Test
    void aFullDiskGivesAClearErrorAndLosesNothing() throws Exception {
        Path mnt = Files.createDirectories(tmp.resolve("full"));
        Process m = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=9m", "tmpfs", mnt.toString()).start();
        org.junit.jupiter.api.Assumptions.assumeTrue(m.waitFor() == 0, "cannot mount a tmpfs here (not root)");
        try {
            Path keys = SharedKeySet.dir();
            Path vault = mnt.resolve("v.db");
            assertEquals(0, Cli.run(Map.of(), "vault", "init", "--schema", EXAMPLES.resolve("schema.json").toString(),
                    "--public-key", keys.resolve("public.key").toString(), "--vault", vault.toString(), "-q").exit());
            assertEquals(0, Cli.run(Map.of(), "encrypt", "--vault", vault.toString(), "--in",
                    EXAMPLES.resolve("patients.csv").toString(), "-q").exit());
            JsonNode before = info(vault);
            List<String> lines = Files.readAllLines(EXAMPLES.resolve("patients.csv"));
            List<String> big = new ArrayList<>(List.of(lines.get(0)));
            for (int c = 0; c < 10; c++) {
                for (String l : lines.subList(1, lines.size())) {
                    big.add("f" + c + "-" + l);
                }
            }
            Path in = tmp.resolve("big.csv");
            Files.write(in, big);
            Cli.Result full = Cli.run(Map.of(), "encrypt", "--vault", vault.toString(), "--in", in.toString(), "-q");
            assertEquals(1, full.exit(), full.toString());
            assertTrue(full.err().contains("the disk is full") && full.err().contains("nothing was changed"), full.err());
            JsonNode after = info(vault);
            assertEquals(before.get("records"), after.get("records"));
            assertEquals(before.get("digest"), after.get("digest"));
            // A new vault that does not fit: refused, and no file is left in its place.
            Path fill = mnt.resolve("filler");
            Files.write(fill, new byte[(int) Math.max(0, Files.getFileStore(mnt).getUsableSpace() - (1 << 20))]);
            Cli.Result init = Cli.run(Map.of(), "vault", "init", "--schema", EXAMPLES.resolve("schema.json").toString(),
                    "--public-key", keys.resolve("public.key").toString(), "--vault", mnt.resolve("w.db").toString(), "-q");
            assertEquals(1, init.exit(), init.toString());
            assertTrue(init.err().contains("the disk is full"), init.err());
            try (Stream<Path> s = Files.list(mnt)) {
                List<String> left = s.map(p -> p.getFileName().toString()).filter(n -> n.contains("w.db")).toList();
                assertEquals(List.of(), left, "nothing of the vault that did not fit");
            }
        } finally {
            new ProcessBuilder("umount", mnt.toString()).start().waitFor();
        }
    }

    static JsonNode info(Path vault) throws IOException {
        Cli.Result r = Cli.run(Map.of(), "vault", "info", "--vault", vault.toString(), "--json");
        assertEquals(0, r.exit(), r.toString());
        return JSON.readTree(r.out());
    }
}

package org.medvault.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Several MedVault processes on one vault at once (separate JVMs, as admins' scripts would start
 * them): three batch encrypts, a query and a reader polling the vault, plus (with
 * {@code scripts/test --hostile}) a patient's proven record imported at the same time. Writers take
 * turns, every reader sees whole batches only, and afterwards every record is there exactly once.
 */
class ConcurrentProcessesTest {
    static final Path EXAMPLES = Path.of(System.getProperty("user.dir"), "examples");
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    record Child(String what, Process process, StringBuilder output) {}

    static Child start(String what, Map<String, String> env, String... args) throws Exception {
        Process p = Cli.spawn(env, List.of(args));
        StringBuilder out = new StringBuilder();
        Thread t = new Thread(() -> {
            try {
                out.append(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            } catch (java.io.IOException ignored) {
                // the child ended
            }
        });
        t.setDaemon(true);
        t.start();
        return new Child(what, p, out);
    }

    static Set<String> ids(Path vault) throws Exception {
        Set<String> ids = new TreeSet<>();
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:file:" + vault + "?mode=ro");
             Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT id FROM records")) {
            while (rs.next()) {
                ids.add(rs.getString(1));
            }
        }
        return ids;
    }

    @Test
    void writersTakeTurnsReadersSeeWholeBatchesAndNothingIsLostOrDuplicated() throws Exception {
        Path keys = SharedKeySet.dir();
        Path vault = tmp.resolve("v.db");
        assertEquals(0, Cli.run(Map.of(), "vault", "init", "--schema", EXAMPLES.resolve("schema.json").toString(),
                "--public-key", keys.resolve("public.key").toString(), "--vault", vault.toString(), "-q").exit());
        List<String> lines = Files.readAllLines(EXAMPLES.resolve("patients.csv"));
        String header = lines.get(0);
        Path base = tmp.resolve("base.csv");
        Files.write(base, lines.subList(0, 13)); // 12 records: over the schema's minimum cohort of 11
        assertEquals(0, Cli.run(Map.of(), "encrypt", "--vault", vault.toString(), "--in", base.toString(), "-q").exit());
        Set<String> expected = new TreeSet<>(ids(vault));
        assertEquals(12, expected.size());
        int idColumn = List.of(header.split(",")).indexOf("patient_id");
        assertTrue(idColumn >= 0, header);

        boolean hostile = System.getenv("MEDVAULT_HOSTILE_TESTS") != null;
        Path record = null;
        if (hostile) {
            Path kit = tmp.resolve("kit");
            assertEquals(0, Cli.run(Map.of(), "vault", "kit", "--vault", vault.toString(), "--out", kit.toString(), "-q").exit());
            record = tmp.resolve("me.mvrec");
            assertEquals(0, Cli.run(Map.of(), "record", "encrypt", "--kit", kit.toString(), "--in",
                    EXAMPLES.resolve("my-record.json").toString(), "--out", record.toString(), "-q").exit());
        }

        List<Child> children = new ArrayList<>();
        for (int b = 0; b < 3; b++) {
            List<String> batch = new ArrayList<>(List.of(header));
            for (String l : lines.subList(13 + 4 * b, 17 + 4 * b)) {
                batch.add(l);
                expected.add(l.split(",")[idColumn]);
            }
            Path in = tmp.resolve("batch-" + b + ".csv");
            Files.write(in, batch);
            children.add(start("encrypt " + b, Map.of(), "encrypt", "--vault", vault.toString(), "--in", in.toString(), "--wait", "600"));
        }
        Path result = tmp.resolve("r.mvr");
        children.add(start("query", Map.of(), "query", "--vault", vault.toString(), "--server-key", keys.toString(),
                "SELECT count(*)", "--out", result.toString(), "-q"));
        if (record != null) {
            children.add(start("import", Map.of(), "vault", "import", "--vault", vault.toString(), "--server-key", keys.toString(),
                    record.toString(), "-q"));
        }
        // A reader in this process polls while they run: every count it sees is a whole number of batches.
        Set<Long> wholeStates = hostile ? Set.of(12L, 13L, 16L, 17L, 20L, 21L, 24L, 25L) : Set.of(12L, 16L, 20L, 24L);
        Set<Long> seen = new TreeSet<>();
        while (children.stream().anyMatch(c -> c.process().isAlive())) {
            Cli.Result info = Cli.run(Map.of(), "vault", "info", "--vault", vault.toString(), "--json");
            assertEquals(0, info.exit(), info.toString());
            long n = JSON.readTree(info.out()).get("records").asLong();
            assertTrue(wholeStates.contains(n), "a reader saw " + n + " records: not a whole number of batches");
            seen.add(n);
            Thread.sleep(300);
        }
        for (Child c : children) {
            assertTrue(c.process().waitFor(10, TimeUnit.MINUTES));
            assertEquals(0, c.process().exitValue(), c.what() + " failed:\n" + c.output());
        }

        Set<String> stored = ids(vault);
        int imported = hostile ? 1 : 0;
        assertEquals(expected.size() + imported, stored.size(), "every record once: " + stored);
        assertTrue(stored.containsAll(expected), "no batch lost: " + stored);
        JsonNode info = JSON.readTree(Cli.run(Map.of(), "vault", "info", "--vault", vault.toString(), "--json").out());
        assertEquals(24 + imported, info.get("records").asLong());
        // The query saw one whole snapshot: its count is one of the states a reader could see.
        Cli.Result dec = Cli.run(SharedKeySet.ENV, "decrypt", "--key", keys.toString(), result.toString(), "--json", "-q");
        assertEquals(0, dec.exit(), dec.toString());
        long counted = JSON.readTree(dec.out()).get("statistics").get(0).get("value").asLong();
        assertTrue(wholeStates.contains(counted), "the query counted " + counted + " records");
        System.out.println("ConcurrentProcessesTest: " + children.size() + " processes at once; reader saw " + seen
                + "; query counted " + counted + "; " + stored.size() + " records, each once");
    }
}

package org.medvault.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.medvault.app.vault.InputFormat;
import org.medvault.app.vault.InputReader;
import org.medvault.app.vault.InputRow;
import org.medvault.app.vault.RecordCodec;
import org.medvault.schema.VaultSchema;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The browser path: records written and proven by Zama's own wasm build of TFHE-rs (node-tfhe, the
 * package a patient portal loads), from the vault's submission kit alone, imported and queried by
 * MedVault. scripts/test installs the pinned node-tfhe and requires this test to run.
 */
class PortalSubmissionTest {
    static final Path ROOT = Path.of(System.getProperty("user.dir"));
    static final Path CLIENT = ROOT.resolve("scripts/node-submit/submit.js");
    static final Path EXAMPLES = ROOT.resolve("examples");
    static final ObjectMapper JSON = new ObjectMapper();
    static final Map<String, String> ENV = Map.of("MEDVAULT_PASSPHRASE", "portal test passphrase, long enough");

    @TempDir
    static Path tmp;

    @BeforeAll
    static void nodeClient() {
        boolean present = Files.isDirectory(ROOT.resolve("scripts/node-submit/node_modules/node-tfhe"));
        if ("1".equals(System.getenv("MEDVAULT_NODE_TESTS"))) {
            assertTrue(present, "scripts/node-submit/node_modules/node-tfhe is missing: run 'npm ci' there (scripts/test does)");
        }
        Assumptions.assumeTrue(present, "node-tfhe not installed in scripts/node-submit (scripts/test installs it)");
    }

    /** Runs the portal client; returns its JSON summary. */
    static JsonNode submit(Path kit, Path out, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("node", CLIENT.toString(), "--layout", kit.resolve("layout.json").toString(),
                "--key", kit.resolve("submission.key").toString(), "--crs", kit.resolve("submission.crs").toString(),
                "--out", out.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "node client finished");
        assertEquals(0, p.exitValue(), "node client: " + stdout);
        return JSON.readTree(stdout);
    }

    @Test
    void portalRecordsImportAndAHostileOneIsClampedIntoRange() throws Exception {
        Path keys = tmp.resolve("keys");
        assertEquals(0, Cli.run(ENV, "keys", "generate", "--out", keys.toString(), "-q").exit());
        Path vault = tmp.resolve("v.db");
        assertEquals(0, Cli.run(Map.of(), "vault", "init", "--schema", EXAMPLES.resolve("schema.json").toString(),
                "--public-key", keys.resolve("public.key").toString(), "--vault", vault.toString(), "-q").exit());
        List<String> lines = Files.readAllLines(EXAMPLES.resolve("patients.csv"));
        int honest = 12;
        Path csv = tmp.resolve("hospital.csv");
        Files.write(csv, lines.subList(0, honest + 1));
        assertEquals(0, Cli.run(Map.of(), "encrypt", "--vault", vault.toString(), "--in", csv.toString(), "-q").exit());
        double ageSum = 0;
        int ageMax = 0;
        for (String l : lines.subList(1, honest + 1)) {
            int age = Integer.parseInt(l.split(",")[1]);
            ageSum += age;
            ageMax = Math.max(ageMax, age);
        }
        Path kit = tmp.resolve("kit");
        Cli.Result k = Cli.run(Map.of(), "vault", "kit", "--vault", vault.toString(), "--out", kit.toString());
        assertEquals(0, k.exit(), k.toString());

        // An honest portal record, from clear values (the README's example).
        Path web = tmp.resolve("web.json");
        Files.writeString(web, "{\"patient_id\":\"web-1\",\"age\":61,\"sex\":\"2\",\"bmi\":31.2,\"bp_sys\":150,\"bp_dia\":90,"
                + "\"glucose\":6.1,\"hba1c\":6.0,\"ldl\":3.25,\"diagnosis\":\"I10\",\"diabetic\":\"false\",\"smoker\":\"true\"}");
        JsonNode w = submit(kit, tmp.resolve("web.mvrec"), "--record", web.toString());
        assertEquals("web-1", w.get("recordId").asText());
        // A hostile one, from raw stored values: age 255 in a 0–120 field, and 7 as its "square".
        VaultSchema schema = VaultSchema.parse(Files.readAllBytes(EXAMPLES.resolve("schema.json")), "schema.json");
        List<InputRow> rows = new ArrayList<>();
        InputReader.read(EXAMPLES.resolve("my-record.json"), InputFormat.JSONL, schema, rows::add);
        long[] values = new RecordCodec(schema).encode(rows.get(0)).values();
        values[0] = 255;
        values[1] = 7;
        StringBuilder stored = new StringBuilder();
        for (long v : values) {
            stored.append(stored.length() == 0 ? "" : ",").append(v);
        }
        submit(kit, tmp.resolve("hostile.mvrec"), "--stored", stored.toString(), "--id", "hostile-1");

        Cli.Result imp = Cli.run(Map.of(), "vault", "import", "--vault", vault.toString(), "--server-key", keys.toString(),
                tmp.resolve("web.mvrec").toString(), tmp.resolve("hostile.mvrec").toString(), "--json", "-q");
        assertEquals(0, imp.exit(), imp.toString());
        assertEquals(honest + 2, JSON.readTree(imp.out()).get("vaultRecords").asLong());

        Path result = tmp.resolve("r.mvr");
        Cli.Result q = Cli.run(Map.of(), "query", "--vault", vault.toString(), "--server-key", keys.toString(),
                "SELECT count(*), avg(age), var(age), max(age)", "--out", result.toString(), "-q");
        assertEquals(0, q.exit(), q.toString());
        Cli.Result dec = Cli.run(ENV, "decrypt", "--key", keys.toString(), result.toString(), "--json", "-q");
        assertEquals(0, dec.exit(), dec.toString());
        JsonNode stats = JSON.readTree(dec.out()).get("statistics");
        int n = honest + 2;
        assertEquals(String.valueOf(n), stats.get(0).get("value").asText());
        double avg = stats.get(1).get("value").asDouble();
        double var = stats.get(2).get("value").asDouble();
        String max = stats.get(3).get("value").asText();
        // The hostile age reached the aggregate clamped to 120: max is in range (and not the 255
        // that reads as "suppressed"), the mean moved by exactly what one age-120 record moves it,
        // and the variance, computed from the recomputed square, is a variance.
        assertEquals("120", max, dec.out());
        double expectedAvg = (ageSum + 61 + 120) / n;
        assertEquals(expectedAvg, avg, 1e-3, dec.out());
        assertTrue(avg <= (ageSum + 61 + 120) / n + 1e-3 && avg >= (ageSum + 61) / n - 1e-3, "within one in-range record (4 decimals shown)");
        assertTrue(var >= 0, "variance " + var);
        double[] ages = new double[n];
        for (int i = 0; i < honest; i++) {
            ages[i] = Integer.parseInt(lines.get(i + 1).split(",")[1]);
        }
        ages[honest] = 61;
        ages[honest + 1] = 120;
        double sq = 0;
        for (double a : ages) {
            sq += (a - expectedAvg) * (a - expectedAvg);
        }
        assertEquals(sq / (n - 1), var, 0.01 * var + 1e-3, "sample variance of the clamped ages: " + dec.out());
        assertTrue(ageMax < 120, "the honest records alone never reach 120");
    }
}

package org.medvault.app.release;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.medvault.app.AtomicFiles;
import org.medvault.app.Progress;
import org.medvault.app.keys.SecretKeyFile;
import org.medvault.app.vault.InputFormat;
import org.medvault.app.vault.VaultService;
import org.medvault.fhe.ClientKey;
import org.medvault.fhe.FheConfig;
import org.medvault.query.ClearEvaluator;
import org.medvault.query.QueryException;
import org.medvault.query.QueryPlan;
import org.medvault.schema.VaultSchema;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Encrypted queries against the clear reference evaluator, on a small real vault: generated
 * queries over every aggregate and operator, suppression at k−1 and k, and empty cohorts.
 */
class QueryServiceTest {
    static final Path EXAMPLES = Path.of(System.getProperty("user.dir"), "examples");
    static final char[] PASS = "query test passphrase".toCharArray();
    static final int K = 3;

    @TempDir
    static Path tmp;
    static Path keyDir;
    static Path schemaFile;
    static VaultSchema schema;
    static ClientKey ck;
    static final QueryService queries = new QueryService(Progress.NONE);
    static final VaultService vaults = new VaultService(Progress.NONE);

    @BeforeAll
    static void setUp() throws IOException {
        keyDir = tmp.resolve("keys");
        Files.createDirectories(keyDir);
        ck = ClientKey.generate(FheConfig.defaults());
        org.medvault.app.keys.TestKeySets.writePublic(ck, keyDir, true);
        Files.write(keyDir.resolve("client.key"), SecretKeyFile.seal("client-key", ck.keyId(), ck.serialize(), PASS));
        // The example schema with a small k, so small test cohorts show both sides of suppression.
        schemaFile = tmp.resolve("schema.json");
        Files.writeString(schemaFile, Files.readString(EXAMPLES.resolve("schema.json")).replace("\"minCohort\": 11", "\"minCohort\": " + K));
        schema = VaultSchema.parse(Files.readAllBytes(schemaFile), "schema.json");
    }

    @AfterAll
    static void tearDown() {
        ck.close();
    }

    static List<Map<String, String>> rows(List<String> csvLines) {
        String[] header = csvLines.get(0).split(",");
        List<Map<String, String>> out = new ArrayList<>();
        for (String line : csvLines.subList(1, csvLines.size())) {
            String[] cells = line.split(",", -1);
            Map<String, String> m = new LinkedHashMap<>();
            for (int i = 0; i < header.length; i++) {
                m.put(header[i], cells[i]);
            }
            out.add(m);
        }
        return out;
    }

    static Path vault(String name, List<String> csvLines) throws IOException {
        Path csv = tmp.resolve(name + ".csv");
        Files.write(csv, csvLines);
        Path v = tmp.resolve(name + ".db");
        vaults.init(schemaFile, keyDir.resolve("public.key"), v);
        vaults.encrypt(v, csv, InputFormat.CSV, new VaultService.EncryptOptions(false, null, null, null));
        return v;
    }

    static List<QueryPlan.Statistic> encrypted(Path vault, String query) {
        Path out = tmp.resolve("r-" + Integer.toHexString(query.hashCode()) + ".mvr");
        QueryService.RunResult r = queries.run(vault, keyDir, query, out);
        assertTrue(r.pbs() > 0 || r.records() == 0);
        return queries.decrypt(out, keyDir, PASS).statistics();
    }

    static void assertSame(List<QueryPlan.Statistic> expected, List<QueryPlan.Statistic> actual, String query) {
        assertEquals(expected.size(), actual.size(), query);
        for (int i = 0; i < expected.size(); i++) {
            QueryPlan.Statistic e = expected.get(i);
            QueryPlan.Statistic a = actual.get(i);
            String what = query + " → " + e.label();
            assertEquals(e.label(), a.label(), what);
            assertEquals(e.suppressed(), a.suppressed(), what + " suppressed");
            if (e.buckets() != null) {
                assertEquals(e.buckets(), a.buckets(), what);
            } else if (e.value() == null || a.value() == null) {
                assertEquals(e.value(), a.value(), what);
            } else {
                BigDecimal x = new BigDecimal(e.value());
                BigDecimal y = new BigDecimal(a.value());
                assertTrue(x.subtract(y).abs().compareTo(x.abs().multiply(new BigDecimal("1e-5")).add(new BigDecimal("1e-9"))) <= 0,
                        what + ": clear " + e.value() + " vs encrypted " + a.value());
            }
        }
    }

    @Test
    void generatedQueriesMatchTheClearReference() throws IOException {
        List<String> lines = Files.readAllLines(EXAMPLES.resolve("patients.csv")).subList(0, 13); // 12 records
        Path v = vault("generated", lines);
        List<Map<String, String>> clear = rows(lines);
        Random rnd = new Random(7);
        String[] aggs = {"count(*)", "sum(bp_sys)", "avg(bmi)", "var(glucose)", "min(age)", "max(bp_dia)", "avg(hba1c)",
            "sum(ldl)", "histogram(age, 20, 100, 4)", "var(age)", "max(bmi)", "min(ldl)"};
        String[] atoms = {"age >= 50", "age < 65", "sex = 2", "sex != 1", "bmi BETWEEN 22.5 AND 30", "diabetic", "NOT smoker",
            "diagnosis IN ('E11', 'I10', none)", "bp_sys > 130", "glucose <= 6.0", "hba1c = 5.5", "bp_dia NOT BETWEEN 70 AND 80",
            "diagnosis NOT IN ('E11')", "smoker = false", "ldl >= 2.5"};
        // 10 random queries (~12 s each); scripts/test --long runs 32.
        int n = "1".equals(System.getenv("MEDVAULT_LONG_TESTS")) ? 32 : 10;
        for (int q = 0; q < n; q++) {
            StringBuilder sb = new StringBuilder("SELECT count(*)");
            sb.append(", ").append(aggs[(q * 5 + rnd.nextInt(3)) % aggs.length]);
            if (q % 4 == 0) {
                sb.append(", ").append(aggs[rnd.nextInt(aggs.length)]);
            }
            if (q % 5 != 4) {
                sb.append(" WHERE ").append(atoms[rnd.nextInt(atoms.length)]);
                if (q % 3 != 0) {
                    sb.append(rnd.nextBoolean() ? " AND " : " OR ").append(atoms[rnd.nextInt(atoms.length)]);
                }
                if (q % 7 == 1) {
                    sb.append(" AND (").append(atoms[rnd.nextInt(atoms.length)]).append(" OR ").append(atoms[rnd.nextInt(atoms.length)]).append(")");
                }
            }
            String query = sb.toString();
            assertSame(ClearEvaluator.evaluate(schema, query, clear), encrypted(v, query), query);
        }
    }

    @Test
    void suppressionAtTheBoundaryAndEmptyCohorts() throws IOException {
        String header = Files.readAllLines(EXAMPLES.resolve("patients.csv")).get(0);
        List<String> lines = new ArrayList<>(List.of(header));
        // K−1 = 2 patients aged 90, K = 3 aged 80, the rest younger.
        int[] ages = {90, 90, 80, 80, 80, 30, 31};
        for (int i = 0; i < ages.length; i++) {
            lines.add("b" + i + "," + ages[i] + ",2,25.0,120,80,5.0,5.5,3.0,none,false,false");
        }
        Path v = vault("boundary", lines);
        List<Map<String, String>> clear = rows(lines);
        String[] qs = {
            "SELECT count(*), avg(bp_sys), min(age) WHERE age >= 90",          // k−1: everything suppressed
            "SELECT count(*), avg(bp_sys), max(age) WHERE age BETWEEN 80 AND 89", // exactly k: released
            "SELECT count(*), sum(bmi), var(age) WHERE age > 100",              // empty: suppressed, not 0
            "SELECT histogram(age, 30, 100, 7) WHERE age >= 0",                 // per-bucket suppression
            // Edges the WHERE clause decides (interval analysis): no comparison for them.
            "SELECT count(*), histogram(age, 0, 100, 10) WHERE age >= 80",     // edges <= 80 = the cohort
            "SELECT histogram(age, 0, 100, 10) WHERE age BETWEEN 30 AND 85",   // and edges > 85 = 0
            "SELECT histogram(age, 0, 100, 10) WHERE age <= 31 AND sex = 2",
            "SELECT histogram(age, 0, 100, 10) WHERE age < 35 OR age >= 80",   // hull: nothing implied
        };
        Map<String, List<QueryPlan.Statistic>> results = new java.util.HashMap<>();
        for (String q : qs) {
            List<QueryPlan.Statistic> expected = ClearEvaluator.evaluate(schema, q, clear);
            List<QueryPlan.Statistic> actual = encrypted(v, q);
            assertSame(expected, actual, q);
            results.put(q, actual);
        }
        List<QueryPlan.Statistic> kMinus1 = results.get(qs[0]);
        assertTrue(kMinus1.stream().allMatch(QueryPlan.Statistic::suppressed), "a cohort of k−1 reveals nothing, not even its size");
        List<QueryPlan.Statistic> k = results.get(qs[1]);
        assertEquals("3", k.get(0).value());
        assertEquals("80", k.get(2).value());
        List<QueryPlan.Statistic> hist = results.get(qs[3]);
        List<QueryPlan.Bucket> buckets = hist.get(0).buckets();
        assertEquals(7, buckets.size());
        assertEquals("3", buckets.get(5).count(), "[80, 90) holds exactly k");
        assertTrue(buckets.get(6).suppressed(), "[90, 100) holds k−1");
        assertTrue(buckets.get(0).suppressed(), "[30, 40) holds 2");
    }

    @Test
    void invalidQueriesFailBeforeAnyFheWork() throws IOException {
        Path v = vault("invalid", Files.readAllLines(EXAMPLES.resolve("patients.csv")).subList(0, 3));
        String[][] bad = {
            {"SELECT count(*) WHERE weight > 3", "unknown field 'weight'"},
            {"SELECT count(*) WHERE age > 500", "out of range"},
            {"SELECT avg(diagnosis)", "not a number"},
            {"SELECT count(*) WHERE sex > 1", "needs a number"},
            {"SELECT count(*) WHERE bmi = 22.55", "decimal"},
            {"SELECT count(*) WHERE diagnosis = 'X99'", "unknown code"},
            {"SELECT count(*) WHERE age >", "expected a constant"},
            {"SELECT median(age)", "expected an aggregate"},
            {"SELECT histogram(age, 0, 100, 3)", "divisible"},
            {"SELECT count(*) WHERE age > 3 age", "expected"},
        };
        for (String[] b : bad) {
            QueryException e = assertThrows(QueryException.class, () -> queries.plan(v, b[0]), b[0]);
            assertTrue(e.getMessage().contains(b[1]), b[0] + " → " + e.getMessage());
            assertTrue(e.describe(b[0]).contains("^"), "points at the position");
            Path out = tmp.resolve("never.mvr");
            assertThrows(QueryException.class, () -> queries.run(v, keyDir, b[0], out));
            assertTrue(!Files.exists(out), "nothing written");
        }
    }

    @Test
    void resultFileCarriesItsProvenance() throws IOException {
        Path v = vault("prov", Files.readAllLines(EXAMPLES.resolve("patients.csv")).subList(0, 5));
        Path out = tmp.resolve("prov.mvr");
        String q = "SELECT count(*) WHERE age >= 18";
        queries.run(v, keyDir, q, out);
        QueryService.ResultInfo info = queries.info(out);
        assertEquals(q, info.query());
        assertEquals(ck.keyId(), info.keyId());
        assertEquals(vaults.info(v).digest(), info.vaultDigest());
        assertEquals(4, info.records());
        assertNotNull(info.created());
        byte[] bytes = Files.readAllBytes(out);
        Path cut = tmp.resolve("cut.mvr");
        Files.write(cut, java.util.Arrays.copyOf(bytes, bytes.length - 10));
        assertThrows(org.medvault.common.UserException.class, () -> queries.info(cut));
        assertTrue(new String(bytes, StandardCharsets.ISO_8859_1).startsWith("MEDVAULT-RESULT v2\n"));
        AtomicFiles.read(out, "result");
    }

    @Test
    void evaluationIsCanonicalWhateverTheThreadCount() throws IOException {
        Path v = vault("canonical", Files.readAllLines(EXAMPLES.resolve("patients.csv")).subList(0, 7));
        String q = "SELECT count(*), avg(bp_sys), max(age), histogram(age, 0, 100, 4) WHERE sex = 2 OR age > 50";
        List<String> digests = new ArrayList<>();
        for (int threads : new int[] {1, 2}) {
            Path out = tmp.resolve("canonical-" + digests.size() + ".mvr");
            queries.run(v, keyDir, q, out, threads);
            digests.add(queries.info(out).outputsDigest());
        }
        assertEquals(1, digests.stream().distinct().count(), "1 and 2 threads: " + digests);
    }

    /**
     * Custodians re-derive results in their own process: the bytes must not depend on anything a
     * process chooses at run time (tfhe-rs used to time FFT algorithms at start-up and keep the
     * fastest, whose rounding differs). The CLI in a fresh JVM, on one thread, against this one.
     */
    @Test
    void evaluationIsCanonicalAcrossProcesses() throws Exception {
        Path v = vault("processes", Files.readAllLines(EXAMPLES.resolve("patients.csv")).subList(0, 5));
        String q = "SELECT count(*), avg(bp_sys), max(age) WHERE age > 30";
        Path here = tmp.resolve("here.mvr");
        queries.run(v, keyDir, q, here);
        Path there = tmp.resolve("there.mvr");
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), "org.medvault.cli.MedVault", "query", "--vault", v.toString(),
                "--server-key", keyDir.resolve("server.key").toString(), q, "--out", there.toString(), "-q");
        pb.environment().put("MEDVAULT_THREADS", "1");
        Process p = pb.redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), output);
        assertEquals(queries.info(here).outputsDigest(), queries.info(there).outputsDigest(),
                "the same query in another process gives other ciphertexts");
    }

    @Test
    void noSuppressedBucketFollowsFromTheCountAndTheOthers() throws IOException {
        String header = Files.readAllLines(EXAMPLES.resolve("patients.csv")).get(0);
        List<String> lines = new ArrayList<>(List.of(header));
        // k = 3. Ages 30 31 32 | 40 41 42 | 50 51 52 | 60: the filter bounds age to [30, 70), so
        // without secondary suppression the one suppressed bucket [60, 70) = count − 3 − 3 − 3.
        int[] ages = {30, 31, 32, 40, 41, 42, 50, 51, 52, 60};
        for (int i = 0; i < ages.length; i++) {
            lines.add("h" + i + "," + ages[i] + ",2,25.0,120,80,5.0,5.5,3.0,none,false,false");
        }
        Path v = vault("complement", lines);
        String attack = "SELECT count(*), histogram(age, 30, 70, 4) WHERE age BETWEEN 30 AND 69";
        List<QueryPlan.Statistic> r = encrypted(v, attack);
        assertEquals("10", r.get(0).value());
        assertTrue(r.get(1).buckets().stream().allMatch(QueryPlan.Bucket::suppressed),
                "one suppressed bucket of 1 would be 10 − 9: every bucket is hidden " + r.get(1).buckets());
        assertSame(ClearEvaluator.evaluate(schema, attack, rows(lines)), r, attack);
        // Two suppressed buckets holding k or more together are safe to leave beside the others.
        String safe = "SELECT count(*), histogram(age, 30, 70, 4) WHERE age BETWEEN 30 AND 69 AND age != 42";
        List<QueryPlan.Statistic> s2 = encrypted(v, safe);
        List<QueryPlan.Bucket> b = s2.get(1).buckets();
        assertEquals("3", b.get(0).count());
        assertTrue(b.get(1).suppressed() && b.get(3).suppressed(), b.toString());
        assertEquals("3", b.get(2).count());
        assertSame(ClearEvaluator.evaluate(schema, safe, rows(lines)), s2, safe);
    }
}

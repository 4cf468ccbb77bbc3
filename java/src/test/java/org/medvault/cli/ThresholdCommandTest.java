package org.medvault.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medvault.app.keys.CustodianShare;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The whole threshold journey through the CLI on real keys: a 3-of-5 ceremony, a vault, a query
 * whose outputs are noise-squashed, partial decryptions by custodians, and combination — plus
 * every refusal the release must make.
 */
class ThresholdCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String QUERY = "SELECT count(*), avg(bp_sys), min(age), max(age)";

    @TempDir
    static Path tmp;
    static Path keys;
    static Path vault;
    static Path result;
    static Map<String, String> env = new HashMap<>();
    static long[] expected;

    static String pass(int i) {
        return "custodian " + i + " passphrase";
    }

    @BeforeAll
    static void ceremonyVaultAndQuery() throws IOException {
        for (int i = 1; i <= 5; i++) {
            env.put("MEDVAULT_PASSPHRASE_" + i, pass(i));
        }
        keys = tmp.resolve("keys");
        Cli.Result g = Cli.run(env, "keys", "generate", "--custodians", "5", "--threshold", "3", "--out", keys.toString(), "--json", "-q");
        assertEquals(0, g.exit(), g.toString());
        JsonNode gen = JSON.readTree(g.out());
        assertEquals(3, gen.get("threshold").get("threshold").asInt());
        assertFalse(Files.exists(keys.resolve("client.key")), "a threshold ceremony never writes a client key");
        for (int i = 1; i <= 5; i++) {
            Path share = keys.resolve("custodian-" + i + ".share");
            assertTrue(Files.exists(share));
            assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(share)));
            // A share never contains its plain bytes: it is sealed (the native share magic is absent).
            assertFalse(new String(Files.readAllBytes(share), java.nio.charset.StandardCharsets.ISO_8859_1).contains("MVSHARE1"));
        }

        vault = tmp.resolve("v.db");
        assertEquals(0, Cli.run(Map.of(), "vault", "init", "--schema", VaultCommandTest.EXAMPLES.resolve("schema.json").toString(),
                "--public-key", keys.resolve("public.key").toString(), "--vault", vault.toString()).exit());
        List<String> lines = Files.readAllLines(VaultCommandTest.EXAMPLES.resolve("patients.csv")).subList(0, 15);
        Path in = tmp.resolve("fourteen.csv");
        Files.write(in, lines);
        assertEquals(0, Cli.run(Map.of(), "encrypt", "--vault", vault.toString(), "--in", in.toString(), "-q").exit());
        expected = clear(lines);

        result = query(QUERY, "r.mvr");
    }

    static Path query(String q, String name) {
        Path out = tmp.resolve(name);
        Cli.Result r = Cli.run(Map.of(), "query", "--vault", vault.toString(), "--server-key", keys.resolve("server.key").toString(),
                q, "--out", out.toString(), "-q");
        assertEquals(0, r.exit(), r.toString());
        return out;
    }

    /** count, avg·count (sum), min and max of the rows, computed in the clear. */
    static long[] clear(List<String> lines) {
        List<String> head = List.of(lines.get(0).split(","));
        int age = head.indexOf("age");
        int bp = head.indexOf("bp_sys");
        long n = 0;
        long sum = 0;
        long min = Long.MAX_VALUE;
        long max = Long.MIN_VALUE;
        for (String l : lines.subList(1, lines.size())) {
            String[] f = l.split(",");
            n++;
            sum += Long.parseLong(f[bp]);
            min = Math.min(min, Long.parseLong(f[age]));
            max = Math.max(max, Long.parseLong(f[age]));
        }
        return new long[] {n, sum, min, max};
    }

    static Cli.Result partial(int custodian, String signers, Path res, String out) {
        return Cli.run(Map.of("MEDVAULT_PASSPHRASE", pass(custodian)), "decrypt", "partial", "--share",
                keys.resolve("custodian-" + custodian + ".share").toString(), "--result", res.toString(), "--signers", signers,
                "--out", tmp.resolve(out).toString(), "-q");
    }

    static List<String> partials(String signers, Path res, String prefix) {
        List<String> files = new ArrayList<>();
        for (String s : signers.split(",")) {
            int i = Integer.parseInt(s);
            Cli.Result r = partial(i, signers, res, prefix + i + ".mvp");
            assertEquals(0, r.exit(), r.toString());
            files.add(tmp.resolve(prefix + i + ".mvp").toString());
        }
        return files;
    }

    static Cli.Result combine(Path res, List<String> files) {
        List<String> args = new ArrayList<>(List.of("decrypt", "combine", "--result", res.toString(), "--json"));
        args.addAll(files);
        return Cli.run(Map.of(), args.toArray(String[]::new));
    }

    static void assertReleased(Cli.Result r) throws IOException {
        assertEquals(0, r.exit(), r.toString());
        JsonNode stats = JSON.readTree(r.out()).get("statistics");
        assertEquals(String.valueOf(expected[0]), stats.get(0).get("value").asText());
        assertEquals((double) expected[1] / expected[0], stats.get(1).get("value").asDouble(), 1e-3); // printed to 6 digits
        assertEquals(String.valueOf(expected[2]), stats.get(2).get("value").asText());
        assertEquals(String.valueOf(expected[3]), stats.get(3).get("value").asText());
    }

    @Test
    void anyThreeCustodiansReleaseTheResult() throws IOException {
        Cli.Result info = Cli.run(Map.of(), "result", "info", result.toString());
        assertTrue(info.out().contains("any 3 of 5 custodians"), info.out());
        for (String set : List.of("1,3,4", "2,4,5", "5,1,2")) {
            List<String> files = partials(set, result, "p" + set.replace(",", "") + "-");
            assertReleased(combine(result, files));
            // in any order, and with the key set's own key.json pinned
            List<String> reversed = new ArrayList<>(files);
            java.util.Collections.reverse(reversed);
            List<String> args = new ArrayList<>(reversed);
            args.add(0, "--keys=" + keys);
            assertReleased(combine(result, args));
        }
        // Repeating a request gives byte-identical output.
        assertEquals(0, partial(1, "1,3,4", result, "again.mvp").exit());
        assertArrayEquals(Files.readAllBytes(tmp.resolve("p134-1.mvp")), Files.readAllBytes(tmp.resolve("again.mvp")));
        Cli.Result text = Cli.run(Map.of(), "decrypt", "combine", "--result", result.toString(),
                tmp.resolve("p134-1.mvp").toString(), tmp.resolve("p134-3.mvp").toString(), tmp.resolve("p134-4.mvp").toString());
        assertTrue(text.out().contains("released by custodians 1, 3, 4"), text.out());
    }

    @Test
    void combineRefusesWhatItMust() throws Exception {
        List<String> ok = partials("1,3,4", result, "q");
        Cli.Result two = combine(result, ok.subList(0, 2));
        assertEquals(1, two.exit(), two.toString());
        assertTrue(two.err().contains("needs 3") && two.err().contains("nothing was released"), two.err());

        Cli.Result dup = combine(result, List.of(ok.get(0), ok.get(1), ok.get(1)));
        assertEquals(1, dup.exit());
        assertTrue(dup.err().contains("both from custodian 3"), dup.err());

        assertEquals(0, partial(2, "1,2,3", result, "other-set-2.mvp").exit());
        Cli.Result mixed = combine(result, List.of(ok.get(0), ok.get(1), tmp.resolve("other-set-2.mvp").toString()));
        assertEquals(1, mixed.exit());
        assertTrue(mixed.err().contains("mixed signer sets"), mixed.err());

        Path tampered = tmp.resolve("tampered.mvp");
        byte[] b = Files.readAllBytes(Path.of(ok.get(2)));
        b[b.length - 100] ^= 1; // inside the partial values
        Files.write(tampered, b);
        Cli.Result sig = combine(result, List.of(ok.get(0), ok.get(1), tampered.toString()));
        assertEquals(1, sig.exit());
        assertTrue(sig.err().contains("signature does not verify"), sig.err());

        // A partial of another result (another query on the same vault and key).
        Path other = query("SELECT count(*), avg(bp_sys), min(age), max(bmi)", "other.mvr");
        List<String> otherPartials = partials("1,3,4", other, "o");
        Cli.Result wrongResult = combine(result, List.of(ok.get(0), ok.get(1), otherPartials.get(2)));
        assertEquals(1, wrongResult.exit());
        assertTrue(wrongResult.err().contains("partial of another result"), wrongResult.err());

        // A validly signed partial that names another key: re-signed by custodian 4 itself.
        Path foreign = tmp.resolve("foreign-key.mvp");
        Files.write(foreign, resign(Path.of(ok.get(2)), 4, h -> h.put("keyId", "ab".repeat(32))));
        Cli.Result wrongKey = combine(result, List.of(ok.get(0), ok.get(1), foreign.toString()));
        assertEquals(1, wrongKey.exit());
        assertTrue(wrongKey.err().contains("partial of key abab"), wrongKey.err());

        // Signed by custodian 4 but claiming to be custodian 5: the signature check catches it.
        Path impostor = tmp.resolve("impostor.mvp");
        Files.write(impostor, resign(Path.of(ok.get(2)), 4, h -> h.put("custodian", 5)));
        Cli.Result imp = combine(result, List.of(ok.get(0), ok.get(1), impostor.toString()));
        assertEquals(1, imp.exit());
        assertTrue(imp.err().contains("does not verify against custodian 5"), imp.err());
    }

    /** A partial whose header was edited and signed again with custodian {@code signer}'s real key. */
    static byte[] resign(Path partial, int signer, java.util.function.Consumer<ObjectNode> edit) throws IOException {
        byte[] b = Files.readAllBytes(partial);
        String magic = "MEDVAULT-PARTIAL v1\n";
        int end = magic.length();
        while (b[end] != '\n') {
            end++;
        }
        ObjectNode h = (ObjectNode) JSON.readTree(new String(b, magic.length(), end - magic.length(), java.nio.charset.StandardCharsets.UTF_8));
        edit.accept(h);
        byte[] head = (magic + JSON.writeValueAsString(h) + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] body = java.util.Arrays.copyOfRange(b, end + 1, b.length - 64);
        byte[] unsigned = java.util.Arrays.copyOf(head, head.length + body.length);
        System.arraycopy(body, 0, unsigned, head.length, body.length);
        Path share = keys.resolve("custodian-" + signer + ".share");
        CustodianShare s = CustodianShare.open(Files.readAllBytes(share), pass(signer).toCharArray(), share.toString());
        try {
            byte[] sig = s.sign(unsigned);
            byte[] out = java.util.Arrays.copyOf(unsigned, unsigned.length + sig.length);
            System.arraycopy(sig, 0, out, unsigned.length, sig.length);
            return out;
        } finally {
            s.wipe();
        }
    }

    @Test
    void partialRefusesWhatItMust() {
        Cli.Result notSigner = partial(2, "1,3,4", result, "x.mvp");
        assertEquals(2, notSigner.exit(), notSigner.toString());
        assertTrue(notSigner.err().contains("does not include custodian 2"), notSigner.err());
        Cli.Result tooFew = partial(2, "1,2", result, "x.mvp");
        assertEquals(2, tooFew.exit());
        assertTrue(tooFew.err().contains("needs exactly 3"), tooFew.err());
        Cli.Result wrongPass = Cli.run(Map.of("MEDVAULT_PASSPHRASE", pass(1)), "decrypt", "partial", "--share",
                keys.resolve("custodian-2.share").toString(), "--result", result.toString(), "--signers", "1,2,3");
        assertEquals(1, wrongPass.exit());
        assertTrue(wrongPass.err().contains("wrong passphrase"), wrongPass.err());
        assertFalse(Files.exists(tmp.resolve("x.mvp")));
    }

    @Test
    void ceremonyRefusesBadParametersBeforeAnyWork() {
        for (String[] nt : new String[][] {{"11", "3"}, {"5", "1"}, {"3", "4"}}) {
            Cli.Result r = Cli.run(env, "keys", "generate", "--custodians", nt[0], "--threshold", nt[1], "--out",
                    tmp.resolve("bad-" + nt[0] + nt[1]).toString());
            assertEquals(2, r.exit(), r.toString());
            assertTrue(r.err().contains("threshold"), r.err());
            assertFalse(Files.exists(tmp.resolve("bad-" + nt[0] + nt[1])));
        }
        Cli.Result noPass = Cli.run(Map.of(), "keys", "generate", "--custodians", "3", "--threshold", "2", "--out",
                tmp.resolve("nopass").toString());
        assertEquals(2, noPass.exit());
        assertTrue(noPass.err().contains("MEDVAULT_PASSPHRASE_1"), noPass.err());
        Cli.Result existing = Cli.run(env, "keys", "generate", "--custodians", "5", "--threshold", "3", "--out", keys.toString());
        assertEquals(1, existing.exit());
        assertTrue(existing.err().contains("already holds keys"), existing.err());
    }

    @Test
    void keysInfoAndVerifyUnderstandThresholdSets() throws IOException {
        Cli.Result info = Cli.run(Map.of(), "keys", "info", keys.toString());
        assertEquals(0, info.exit(), info.toString());
        assertTrue(info.out().contains("3 of 5 custodians") && info.out().contains("custodian-share of custodian 4"), info.out());
        assertFalse(info.out().contains("Missing"), info.out());
        Cli.Result verify = Cli.run(Map.of(), "keys", "verify", keys.toString(), "--json");
        assertEquals(0, verify.exit(), verify.toString());
        assertTrue(JSON.readTree(verify.out()).get("ok").asBoolean());
        // The personal-key decrypt path refuses nothing silently: a threshold result has no client key to use.
        Cli.Result personal = Cli.run(Map.of("MEDVAULT_PASSPHRASE", pass(1)), "decrypt", "--key",
                keys.resolve("custodian-1.share").toString(), result.toString());
        assertEquals(1, personal.exit(), personal.toString());
        assertTrue(personal.err().contains("decrypt partial"), personal.err());
    }
}

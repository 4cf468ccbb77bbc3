package org.medvault.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

import org.medvault.app.keys.CustodianShare;
import org.medvault.app.keys.KeySetManifest;
import org.medvault.app.release.ResultFile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole threshold journey through the CLI on real keys — a 3-of-5 ceremony, a vault that pins
 * the custodian roster, a query whose outputs are noise-squashed, custodians' partial decryptions
 * (each re-deriving the result from its own vault copy), combination — and every attack the
 * release must refuse: crafted ciphertexts (the key oracle), relabelled and re-wrapped results,
 * forged rosters and partials.
 */
class ThresholdCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String QUERY = "SELECT count(*), avg(bp_sys), min(age), max(age)";

    @TempDir
    static Path tmp;
    static Path keys;
    static Path vault;
    /** A custodian's own copy of the vault (same digest). */
    static Path custodianVault;
    static Path result;
    static List<String> released134;
    static Map<String, String> env = new HashMap<>();
    static long[] expected;
    /** The records admin's identity, the roster's one vault writer. */
    static Path admin;
    /** The roster fingerprint the ceremony printed (what a combiner is told out of band). */
    static String fingerprint;

    static String pass(int i) {
        return "custodian " + i + " passphrase";
    }

    /**
     * After the whole walk-through (ceremony, vault, queries, partials, combine, and every attack
     * of this class): no custodian passphrase and no byte of a share or signing key was printed by
     * any command or left in any file (the sealed share files themselves hold only ciphertext).
     */
    @org.junit.jupiter.api.AfterAll
    static void noSecretLeaked() throws IOException {
        java.util.List<String> passphrases = new java.util.ArrayList<>();
        java.util.List<byte[]> secrets = new java.util.ArrayList<>();
        for (int i = 1; i <= 5; i++) {
            passphrases.add(pass(i));
            Path share = keys.resolve("custodian-" + i + ".share");
            secrets.add(org.medvault.app.keys.SecretKeyFile.open(Files.readAllBytes(share), pass(i).toCharArray(), share.toString()));
        }
        SecretScan.assertNothingLeaks(tmp, passphrases, secrets);
    }

    @BeforeAll
    static void ceremonyVaultQueryAndRelease() throws IOException {
        for (int i = 1; i <= 5; i++) {
            env.put("MEDVAULT_PASSPHRASE_" + i, pass(i));
        }
        keys = tmp.resolve("keys");
        admin = Cli.writer(tmp);
        Cli.Result g = Cli.run(env, "keys", "generate", "--custodians", "5", "--threshold", "3", "--writer",
                org.medvault.app.keys.Identity.publicFileOf(admin).toString(), "--out", keys.toString(), "--json", "-q");
        assertEquals(0, g.exit(), g.toString());
        JsonNode gen = JSON.readTree(g.out());
        assertEquals(3, gen.get("threshold").get("threshold").asInt());
        assertEquals(11, gen.get("threshold").get("minCohortFloor").asInt(), "the default floor is pinned in the roster");
        fingerprint = gen.get("rosterFingerprint").asText();
        assertTrue(fingerprint.matches("[0-9a-f]{4}(-[0-9a-f]{4}){5}"), fingerprint);
        assertFalse(Files.exists(keys.resolve("client.key")), "a threshold ceremony never writes a client key");
        for (int i = 1; i <= 5; i++) {
            Path share = keys.resolve("custodian-" + i + ".share");
            assertTrue(Files.exists(share));
            assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(share)));
            // A share never contains its plain bytes: it is sealed (the native share magic is absent).
            assertFalse(new String(Files.readAllBytes(share), StandardCharsets.ISO_8859_1).contains("MVSHARE1"));
        }

        vault = tmp.resolve("v.db");
        Cli.Result init = Cli.run(Map.of(), "vault", "init", "--schema", VaultCommandTest.EXAMPLES.resolve("schema.json").toString(),
                "--public-key", keys.resolve("public.key").toString(), "--vault", vault.toString());
        assertEquals(0, init.exit(), init.toString());
        assertTrue(init.out().contains("any 3 of 5 custodians, roster"), "the vault pins the roster: " + init.out());
        List<String> lines = Files.readAllLines(VaultCommandTest.EXAMPLES.resolve("patients.csv")).subList(0, 15);
        Path in = tmp.resolve("fourteen.csv");
        Files.write(in, lines);
        assertEquals(0, Cli.run(Cli.ADMIN_ENV, "encrypt", "--vault", vault.toString(), "--in", in.toString(), "--identity",
                admin.toString(), "-q").exit());
        expected = clear(lines);
        custodianVault = tmp.resolve("custodian-copy.db");
        Files.copy(vault, custodianVault);

        result = query(vault, QUERY, "r.mvr");
        released134 = new ArrayList<>(partials("1,3,4", result, "p134-"));
    }

    static Path query(Path v, String q, String name) {
        Path out = tmp.resolve(name);
        Cli.Result r = Cli.run(Map.of(), "query", "--vault", v.toString(), "--server-key", keys.resolve("server.key").toString(),
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

    static Cli.Result partial(int custodian, String passphrase, String signers, Path res, Path v, String out) {
        return Cli.run(Map.of("MEDVAULT_PASSPHRASE", passphrase), "decrypt", "partial", "--share",
                keys.resolve("custodian-" + custodian + ".share").toString(), "--result", res.toString(), "--vault", v.toString(),
                "--server-key", keys.resolve("server.key").toString(), "--signers", signers, "--out", tmp.resolve(out).toString(), "-q");
    }

    static Cli.Result partial(int custodian, String signers, Path res, String out) {
        return partial(custodian, pass(custodian), signers, res, custodianVault, out);
    }

    static List<String> partials(String signers, Path res, String prefix) {
        return partials(signers, signers, res, prefix);
    }

    /** Partials of the custodians in {@code who} (each re-deriving the result) for the set {@code signers}. */
    static List<String> partials(String who, String signers, Path res, String prefix) {
        List<String> files = new ArrayList<>();
        for (String s : who.split(",")) {
            int i = Integer.parseInt(s);
            Cli.Result r = partial(i, signers, res, prefix + i + ".mvp");
            assertEquals(0, r.exit(), r.toString());
            files.add(tmp.resolve(prefix + i + ".mvp").toString());
        }
        return files;
    }

    static Cli.Result combine(Path res, List<String> files) {
        List<String> args = new ArrayList<>(List.of("decrypt", "combine", "--result", res.toString(), "--vault", vault.toString(),
                "--roster", fingerprint, "--json"));
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

    static void assertRefused(Cli.Result r, int exit, String... phrases) {
        assertEquals(exit, r.exit(), r.toString());
        for (String p : phrases) {
            assertTrue(r.err().contains(p), "expected '" + p + "' in: " + r.err());
        }
    }

    /**
     * A copy of {@code src} as an analyst would write it: header fields edited, squashed ciphertexts
     * replaced, and (when {@code fixDigest}) the outputs digest recomputed so the file is consistent.
     */
    static Path craft(Path src, String name, Consumer<ObjectNode> header, UnaryOperator<List<byte[]>> squashed,
                      boolean fixDigest) throws IOException {
        ResultFile rf = ResultFile.parse(Files.readAllBytes(src), src.toString());
        List<byte[]> sq = squashed.apply(new ArrayList<>(rf.squashed()));
        ObjectNode h = JSON.valueToTree(rf.header());
        header.accept(h);
        if (fixDigest) {
            List<String> types = new ArrayList<>();
            h.get("outputTypes").forEach(t -> types.add(t.asText()));
            h.put("outputsDigest", ResultFile.outputsDigest(h.get("keyId").asText(), types, rf.outputs(), sq));
        }
        Path out = tmp.resolve(name);
        Files.write(out, new ResultFile(JSON.treeToValue(h, ResultFile.Header.class), rf.outputs(), sq).toBytes());
        return out;
    }

    @Test
    void anyThreeCustodiansReleaseTheResult() throws IOException {
        Cli.Result info = Cli.run(Map.of(), "result", "info", result.toString(), "--json");
        assertEquals(0, info.exit(), info.toString());
        JsonNode ri = JSON.readTree(info.out());
        assertTrue(ri.get("release").asText().contains("any 3 of 5 custodians"), info.out());
        String outputs = ri.get("outputsDigest").asText();
        assertEquals(64, outputs.length());

        assertReleased(combine(result, released134));
        // In any order, and with the key set's own key.json as the trusted roster instead of the vault.
        List<String> args = new ArrayList<>(List.of("decrypt", "combine", "--result", result.toString(), "--keys=" + keys,
                "--roster", fingerprint.toUpperCase(java.util.Locale.ROOT).replace("-", " "), "--json"));
        List<String> reversed = new ArrayList<>(released134);
        java.util.Collections.reverse(reversed);
        args.addAll(reversed);
        assertReleased(Cli.run(Map.of(), args.toArray(String[]::new)));
        // Each partial names the outputs it re-derived: the result's outputs digest.
        assertTrue(Files.readString(Path.of(released134.get(0)), StandardCharsets.ISO_8859_1).contains(outputs));

        // (Other signer sets release the same values: ThresholdTest runs {1,2,3}, {5,3,1}, {2,4,5}
        // through the binding; here every CLI partial re-runs the query, so one set is enough.)
        Cli.Result text = Cli.run(Map.of(), "decrypt", "combine", "--result", result.toString(), "--vault", vault.toString(),
                "--roster", fingerprint, released134.get(0), released134.get(1), released134.get(2));
        assertTrue(text.out().contains("released by custodians 1, 3, 4 of roster " + fingerprint), text.out());
        assertTrue(text.out().contains("over " + expected[0] + " records; cohorts under 11 suppressed"), text.out());

        // Re-wrapped: the same outputs in a file with another header (another time, another name).
        // The partial depends on the outputs alone, so it is byte-identical: asking twice, or
        // through another wrapper, reveals nothing new.
        Path rewrapped = craft(result, "rewrapped.mvr", h -> h.put("created", "2030-01-01T00:00:00Z").put("vault", "x.db"),
                s -> s, false);
        assertEquals(0, partial(1, "1,3,4", rewrapped, "again-1.mvp").exit());
        assertArrayEquals(Files.readAllBytes(Path.of(released134.get(0))), Files.readAllBytes(tmp.resolve("again-1.mvp")));
        assertReleased(combine(rewrapped, released134));
    }

    /**
     * Overwrites every LWE block of a serialized squashed ciphertext with the key-oracle mask of
     * issue 11: a = 2^123·(e_4q + 2e_4q+1 + 4e_4q+2 + 8e_4q+3), body 0, so that a release of
     * block q would print four bits of the secret key. The blocks are found by their length
     * prefix (4097 coefficients of 16 bytes, little-endian).
     */
    static byte[] keyOracle(byte[] squashed) {
        byte[] b = squashed.clone();
        byte[] prefix = {0x01, 0x10, 0, 0, 0, 0, 0, 0};
        int blocks = 0;
        for (int at = 0; at + 8 + 4097 * 16 <= b.length; at++) {
            if (!java.util.Arrays.equals(b, at, at + 8, prefix, 0, 8)) {
                continue;
            }
            int data = at + 8;
            java.util.Arrays.fill(b, data, data + 4097 * 16, (byte) 0);
            for (int k = 0; k < 4; k++) {
                int coefficient = 4 * blocks + k;
                int bit = 123 + k; // 2^(123+k) in a little-endian u128
                b[data + 16 * coefficient + bit / 8] = (byte) (1 << (bit % 8));
            }
            blocks++;
            at = data + 4097 * 16 - 1;
        }
        assertTrue(blocks > 0, "found the LWE blocks of the squashed ciphertext");
        return b;
    }

    /**
     * The key-oracle attack of issue 11: the analyst writes a result whose squashed ciphertexts
     * are scaled unit vectors (header unchanged, its outputs digest made consistent). Fed to the
     * partial math they return key bits (rust/tests/threshold.rs carries that out on the real
     * math); the custodian's tool re-derives the query and refuses before unsealing — proved by
     * giving it a wrong passphrase: the refusal is about the ciphertexts, not the passphrase. A
     * subtler edit (one mask coefficient changed by 2^k, which leaks ⟨δ, s⟩) is refused the same way.
     */
    @Test
    void craftedCiphertextsAreRefusedBeforeAnySecretIsUnsealed() throws IOException {
        Path oracle = craft(result, "oracle.mvr", h -> { }, s -> {
            for (int i = 0; i < s.size(); i++) {
                s.set(i, keyOracle(s.get(i)));
            }
            return s;
        }, true);
        Cli.Result r = partial(1, "not custodian 1's passphrase", "1,3,4", oracle, custodianVault, "oracle-1.mvp");
        assertRefused(r, 1, "not what", "derives", "refusing to decrypt", "nothing was unsealed");
        assertFalse(Files.exists(tmp.resolve("oracle-1.mvp")));
        // The combiner, too, only decodes ciphertexts the custodians signed for.
        assertRefused(combine(oracle, released134), 1, "partial of other outputs");

        Path crafted = craft(result, "crafted.mvr", h -> { }, s -> {
            byte[] b = s.get(0).clone();
            b[b.length / 2] ^= 0x08; // a mask coefficient changes by ±2^k: ⟨δ, s⟩ would leak
            s.set(0, b);
            return s;
        }, true);
        assertRefused(partial(1, "not custodian 1's passphrase", "1,3,4", crafted, custodianVault, "crafted-1.mvp"), 1,
                "not what", "refusing to decrypt", "nothing was unsealed");
        assertFalse(Files.exists(tmp.resolve("crafted-1.mvp")));

        // Grown outputs (more blocks to decrypt than the plan has), refused by shape before deriving.
        Path grown = craft(result, "grown.mvr", h -> ((com.fasterxml.jackson.databind.node.ArrayNode) h.get("outputTypes"))
                .set(0, JSON.getNodeFactory().textNode("FheUint64")), s -> s, true);
        assertRefused(partial(1, "1,3,4", grown, "grown-1.mvp"), 1, "the query's plan yields", "nothing was unsealed");

        // Edited without fixing the digest: the file itself is refused as corrupt.
        Path broken = craft(result, "broken.mvr", h -> { }, s -> {
            byte[] b = s.get(1).clone();
            b[b.length / 3] ^= 1;
            s.set(1, b);
            return s;
        }, false);
        assertRefused(partial(1, "1,3,4", broken, "broken-1.mvp"), 1, "do not match the digest");
        assertRefused(combine(broken, released134), 1, "do not match the digest");

        // A result over another vault state, and one naming another query: refused before deriving.
        Path otherVault = craft(result, "other-vault.mvr", h -> h.put("vaultDigest", "cd".repeat(32)), s -> s, false);
        assertRefused(partial(1, "1,3,4", otherVault, "ov-1.mvp"), 1, "your copy", "nothing was unsealed");
        Path relabelled = craft(result, "relabelled.mvr", h -> h.put("query", "SELECT count(*), avg(bp_dia), min(age), max(age)"),
                s -> s, false);
        assertRefused(partial(1, "1,3,4", relabelled, "rl-1.mvp"), 1, "not what", "nothing was unsealed");
        // And the combiner refuses to print genuine partials under another query's labels.
        assertRefused(combine(relabelled, released134), 1, "refusing a relabelled result");
    }

    /** The forged-release attack: the analyst signs partials with keys of their own. */
    @Test
    void forgedRostersAndPartialsAreRefused() throws IOException {
        // The analyst's own "custodians": a complete, self-signed roster for the same key id.
        KeySetManifest real = KeySetManifest.parse(Files.readAllBytes(keys.resolve("key.json")), "key.json");
        String keyId = real.keyId();
        List<KeyPair> fake = new ArrayList<>();
        List<KeySetManifest.Custodian> members = new ArrayList<>();
        for (int i = 1; i <= 5; i++) {
            fake.add(CustodianShare.newSigningKeyPair());
            members.add(new KeySetManifest.Custodian(i, KeySetManifest.shareFile(i), CustodianShare.encodePublic(fake.get(i - 1).getPublic()), null));
        }
        List<String> writers = real.threshold().writerKeys();
        KeySetManifest.Threshold forged = KeySetManifest.Threshold.signed(keyId, 5, 3, 11, writers, members,
                i -> CustodianShare.sign(fake.get(i - 1).getPrivate(), KeySetManifest.Threshold.statement(keyId, 5, 3, 11, writers,
                        members)));
        String forgedDigest = forged.digest(keyId);

        // Partials signed by the fake custodians, naming the fake roster, in a result that names it too.
        Path named = craft(result, "forged.mvr", h -> ((ObjectNode) h.get("release")).put("roster", forgedDigest), s -> s, false);
        List<String> forgedPartials = new ArrayList<>();
        for (int i : new int[] {1, 3, 4}) {
            Path p = tmp.resolve("forged-" + i + ".mvp");
            Files.write(p, resign(Path.of(released134.get(List.of(1, 3, 4).indexOf(i))), fake.get(i - 1).getPrivate(),
                    h -> h.put("roster", forgedDigest)));
            forgedPartials.add(p.toString());
        }
        assertRefused(combine(named, forgedPartials), 1, "swapped custodian keys");
        // With the result's roster left alone, the partials' roster gives them away.
        assertRefused(combine(result, forgedPartials), 1, "signed for custodian roster", "other custodians' keys");
        // Naming the real roster but signed by a fake key: the pinned key does not verify it.
        Path impostor = tmp.resolve("impostor-4.mvp");
        Files.write(impostor, resign(Path.of(released134.get(2)), fake.get(3).getPrivate(), h -> { }));
        assertRefused(combine(result, List.of(released134.get(0), released134.get(1), impostor.toString())), 1,
                "does not verify against custodian 4's pinned key");
        // And without a pinned source there is nothing to trust: a usage error, not a release.
        assertRefused(Cli.run(Map.of(), "decrypt", "combine", "--result", result.toString(), "--roster", fingerprint,
                released134.get(0), released134.get(1), released134.get(2)), 2, "--vault", "--keys");
        // Nor without the published fingerprint: a roster file alone can name anyone's keys.
        assertRefused(Cli.run(Map.of(), "decrypt", "combine", "--result", result.toString(), "--vault", vault.toString(),
                released134.get(0), released134.get(1), released134.get(2)), 2, "--roster");

        // The self-signed roster in a key.json of its own (attack 3 of issue 23): every signature in
        // it verifies, the forged partials match it, and before the fingerprint was required this
        // printed the analyst's numbers. Now the roster is not the published one: refused.
        Path forgedKeys = Files.createDirectories(tmp.resolve("forged-keys"));
        ObjectNode forgedManifest = (ObjectNode) JSON.readTree(Files.readAllBytes(keys.resolve("key.json")));
        forgedManifest.set("threshold", JSON.readTree(KeySetManifest.rosterJson(forged)));
        Files.write(forgedKeys.resolve("key.json"), JSON.writeValueAsBytes(forgedManifest));
        List<String> forgedArgs = new ArrayList<>(List.of("decrypt", "combine", "--result", named.toString(), "--keys",
                forgedKeys.toString(), "--roster", fingerprint, "--json"));
        forgedArgs.addAll(forgedPartials);
        assertRefused(Cli.run(Map.of(), forgedArgs.toArray(String[]::new)), 1, "not the " + fingerprint, "nothing was released");
        // (Told the forger's own fingerprint, it does combine: the fingerprint is the trust anchor.)
        forgedArgs.set(forgedArgs.indexOf(fingerprint), forged.fingerprint(keyId));
        assertEquals(0, Cli.run(Map.of(), forgedArgs.toArray(String[]::new)).exit());
        // A prefix too short to be checked never matches.
        forgedArgs.set(forgedArgs.indexOf(forged.fingerprint(keyId)), forged.fingerprint(keyId).substring(0, 9));
        assertRefused(Cli.run(Map.of(), forgedArgs.toArray(String[]::new)), 1, "you expect");

        // A key.json with a swapped custodian key no longer carries every custodian's signature.
        ObjectNode manifest = (ObjectNode) JSON.readTree(Files.readAllBytes(keys.resolve("key.json")));
        ((ObjectNode) manifest.get("threshold").get("members").get(3)).put("signingKey",
                CustodianShare.encodePublic(fake.get(3).getPublic()));
        Path swappedKeys = Files.createDirectories(tmp.resolve("swapped-keys"));
        Files.write(swappedKeys.resolve("key.json"), JSON.writeValueAsBytes(manifest));
        Files.copy(keys.resolve("public.key"), swappedKeys.resolve("public.key"));
        List<String> withKeys = new ArrayList<>(List.of("decrypt", "combine", "--result", result.toString(), "--keys", swappedKeys.toString(),
                "--roster", fingerprint));
        withKeys.addAll(released134);
        assertRefused(Cli.run(Map.of(), withKeys.toArray(String[]::new)), 1, "did not sign this roster");
        assertRefused(Cli.run(Map.of(), "vault", "init", "--schema", VaultCommandTest.EXAMPLES.resolve("schema.json").toString(),
                "--public-key", swappedKeys.resolve("public.key").toString(), "--vault", tmp.resolve("swapped.db").toString()),
                1, "did not sign this roster");
        Cli.Result verify = Cli.run(Map.of(), "keys", "verify", swappedKeys.toString());
        assertEquals(1, verify.exit(), verify.toString());
        assertTrue((verify.out() + verify.err()).contains("did not sign this roster"), verify.toString());

        // A vault whose pinned roster was replaced (and re-signed by the fake keys): a custodian
        // given it and a result over it refuses before deriving or unsealing anything.
        Path swappedVault = tmp.resolve("swapped-roster.db");
        Files.copy(vault, swappedVault);
        try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + swappedVault);
             java.sql.PreparedStatement p = c.prepareStatement("UPDATE meta SET value = ? WHERE key = 'roster'")) {
            p.setString(1, KeySetManifest.rosterJson(forged));
            assertEquals(1, p.executeUpdate());
        } catch (java.sql.SQLException e) {
            throw new IOException(e);
        }
        Path overSwapped = query(swappedVault, QUERY, "over-swapped.mvr");
        assertRefused(partial(1, pass(1), "1,3,4", overSwapped, swappedVault, "sw-1.mvp"), 1,
                "was dealt for roster", "nothing was unsealed");
        // combine --vault vouches for a result only with the vault it was computed over.
        List<String> otherVault = new ArrayList<>(List.of("decrypt", "combine", "--result", result.toString(), "--vault",
                swappedVault.toString(), "--roster", fingerprint));
        otherVault.addAll(released134);
        assertRefused(Cli.run(Map.of(), otherVault.toArray(String[]::new)), 1, "has digest", "the result was computed over vault");
    }

    /**
     * A vault whose k is below the floor the ceremony pinned: refused at vault init, and — written
     * straight into a copy (schema edited, its digest recomputed) so that an analyst's query over
     * it runs with k = 1 — refused by every custodian before unsealing, and by the combiner.
     */
    @Test
    void aVaultBelowTheCohortFloorIsNeverReleasedFrom() throws Exception {
        Path lowSchema = tmp.resolve("low-k.json");
        Files.writeString(lowSchema, Files.readString(VaultCommandTest.EXAMPLES.resolve("schema.json"))
                .replace("\"minCohort\": 11", "\"minCohort\": 1"));
        assertRefused(Cli.run(Map.of(), "vault", "init", "--schema", lowSchema.toString(), "--public-key",
                keys.resolve("public.key").toString(), "--vault", tmp.resolve("low-k.db").toString()), 1,
                "below the floor of 11", "roster " + fingerprint);
        assertFalse(Files.exists(tmp.resolve("low-k.db")));

        Path crafted = tmp.resolve("crafted-low-k.db");
        Files.copy(vault, crafted);
        String schemaJson = org.medvault.schema.VaultSchema.parse(Files.readAllBytes(lowSchema), "low-k.json").canonicalJson();
        try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + crafted);
             java.sql.PreparedStatement p = c.prepareStatement("UPDATE meta SET value = ? WHERE key = ?")) {
            p.setString(1, schemaJson);
            p.setString(2, "schema");
            assertEquals(1, p.executeUpdate());
            p.setString(1, org.medvault.common.Digests.sha256(schemaJson.getBytes(StandardCharsets.UTF_8)));
            p.setString(2, "schema_sha256");
            assertEquals(1, p.executeUpdate());
        }
        Path lowK = query(crafted, "SELECT count(*) WHERE age >= 80", "low-k.mvr");
        assertEquals(1, JSON.readTree(Cli.run(Map.of(), "result", "info", lowK.toString(), "--json").out()).get("minCohort").asInt());
        for (int i : new int[] {1, 3, 4}) {
            assertRefused(partial(i, "not the passphrase", "1,3,4", lowK, crafted, "low-k-" + i + ".mvp"), 1,
                    "below the floor of 11", "nothing was unsealed");
            assertFalse(Files.exists(tmp.resolve("low-k-" + i + ".mvp")));
        }
    }

    static void sql(Path db, String... statements) throws java.sql.SQLException {
        try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + db);
             java.sql.Statement st = c.createStatement()) {
            for (String q : statements) {
                st.execute(q);
            }
        }
    }

    /**
     * Attack 1 of issue 23, as far as whoever holds the vault file goes: ciphertexts written
     * straight into a custodian's copy, every digest "recomputed" (the vault digest is computed
     * from the rows). Before writers were pinned, the analyst's query over such a copy was
     * re-derived and released by every custodian — and a released sum over a record with chosen
     * masks is key bits. Now every chunk must carry the signature of a writer the roster pins, over
     * its digest, the key, the schema and its record ids by slot; custodians refuse before unsealing.
     */
    @Test
    void chunksNoPinnedWriterSignedAreNeverReleasedFrom() throws Exception {
        // 1. An unsigned chunk (the bytes of a stored one, standing for any crafted list) under a new id,
        //    queried by the analyst so that the result names this copy's digest: only provenance is wrong.
        Path unsigned = tmp.resolve("unsigned-chunk.db");
        Files.copy(vault, unsigned);
        sql(unsigned, "INSERT INTO chunks (batch_id, records, sha256, list) SELECT batch_id, 1, sha256, list FROM chunks ORDER BY id LIMIT 1",
                "INSERT INTO records (id, chunk_id, slot, batch_id) SELECT 'crafted-1', max(id), 0, 1 FROM chunks");
        Path overUnsigned = query(unsigned, QUERY, "over-unsigned.mvr");
        for (int i : new int[] {1, 3, 4}) {
            assertRefused(partial(i, "not the passphrase", "1,3,4", overUnsigned, unsigned, "unsigned-" + i + ".mvp"), 1,
                    "carries no writer's signature", "records crafted-1", "nothing was unsealed");
            assertFalse(Files.exists(tmp.resolve("unsigned-" + i + ".mvp")));
        }

        // 2. An honest chunk's signature copied along with its bytes, but another record id in the slot.
        Path relabelled = tmp.resolve("relabelled-chunk.db");
        Files.copy(vault, relabelled);
        sql(relabelled, "INSERT INTO chunks (batch_id, records, sha256, list, signed_ids, signer, signature) SELECT batch_id, records,"
                        + " sha256, list, signed_ids, signer, signature FROM chunks ORDER BY id LIMIT 1",
                "INSERT INTO records (id, chunk_id, slot, batch_id) SELECT 'crafted-2', max(id), 0, 1 FROM chunks");
        assertRefused(partial(1, "not the passphrase", "1,3,4", result, relabelled, "relabelled-1.mvp"), 1,
                "record 'crafted-2' sits in slot 0", "records were moved", "nothing was unsealed");

        // 3. Two stored records swapped between their slots (a patient's value under another's id).
        Path swapped = tmp.resolve("swapped-slots.db");
        Files.copy(vault, swapped);
        sql(swapped, "UPDATE records SET slot = 1000 WHERE chunk_id = (SELECT min(id) FROM chunks) AND slot = 0",
                "UPDATE records SET slot = 0 WHERE chunk_id = (SELECT min(id) FROM chunks) AND slot = 1",
                "UPDATE records SET slot = 1 WHERE chunk_id = (SELECT min(id) FROM chunks) AND slot = 1000");
        assertRefused(partial(1, "not the passphrase", "1,3,4", result, swapped, "swapped-1.mvp"), 1,
                "records were moved", "nothing was unsealed");

        // 4. Another identity (the attacker's own): refused by encrypt, and signed in by hand, by the custodian.
        Path other = tmp.resolve("other").resolve("admin.id");
        Files.createDirectories(other.getParent());
        Cli.writer(other.getParent());
        Path csv = tmp.resolve("one.csv");
        Files.write(csv, Files.readAllLines(VaultCommandTest.EXAMPLES.resolve("patients.csv")).subList(0, 2));
        Path byOther = tmp.resolve("by-other.db");
        Files.copy(vault, byOther);
        assertRefused(Cli.run(Cli.ADMIN_ENV, "encrypt", "--vault", byOther.toString(), "--in", csv.toString(), "--identity",
                other.toString()), 1, "is not a writer of", "nothing was stored");
        assertRefused(Cli.run(Map.of(), "encrypt", "--vault", byOther.toString(), "--in", csv.toString()), 2, "--identity");
        org.medvault.app.keys.Identity attacker = org.medvault.app.keys.Identity.open(other, Cli.ADMIN_PASS.toCharArray());
        String keyId = KeySetManifest.parse(Files.readAllBytes(keys.resolve("key.json")), "key.json").keyId();
        String schemaDigest = org.medvault.schema.VaultSchema.parse(Files.readAllBytes(VaultCommandTest.EXAMPLES.resolve("schema.json")),
                "schema.json").digest();
        String sha;
        try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + byOther);
             java.sql.ResultSet r = c.createStatement().executeQuery("SELECT sha256 FROM chunks ORDER BY id LIMIT 1")) {
            sha = r.getString(1);
        }
        byte[] sig = attacker.sign(org.medvault.app.vault.VaultStore.chunkStatement(keyId, schemaDigest, sha, "[\"crafted-3\"]"));
        attacker.wipe();
        try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + byOther);
             java.sql.PreparedStatement p = c.prepareStatement("INSERT INTO chunks (batch_id, records, sha256, list, signed_ids, signer,"
                     + " signature) SELECT batch_id, 1, sha256, list, '[\"crafted-3\"]', ?, ? FROM chunks ORDER BY id LIMIT 1")) {
            p.setString(1, org.medvault.app.keys.Identity.readPublic(org.medvault.app.keys.Identity.publicFileOf(other)).publicKey());
            p.setBytes(2, sig);
            assertEquals(1, p.executeUpdate());
        }
        sql(byOther, "INSERT INTO records (id, chunk_id, slot, batch_id) SELECT 'crafted-3', max(id), 0, 1 FROM chunks");
        assertRefused(partial(1, "not the passphrase", "1,3,4", result, byOther, "by-other-1.mvp"), 1,
                "who is not a writer the custodians pinned", "nothing was unsealed");

        // 5. A record deleted from a copy (every remaining chunk still verifies): the vault state it
        //    leaves was signed by no writer. The same withdrawal by the writer signs its state.
        Path deleted = tmp.resolve("deleted-record.db");
        Files.copy(vault, deleted);
        sql(deleted, "DELETE FROM records WHERE id = (SELECT min(id) FROM records)");
        Path overDeleted = tmp.resolve("over-deleted.mvr");
        Cli.Result q = Cli.run(Map.of(), "query", "--vault", deleted.toString(), "--server-key", keys.resolve("server.key").toString(),
                QUERY, "--out", overDeleted.toString());
        assertEquals(0, q.exit(), q.toString());
        assertTrue(q.err().contains("warning: no custodian will release a result over"), "the analyst is told first: " + q.err());
        assertRefused(partial(1, "not the passphrase", "1,3,4", overDeleted, deleted, "deleted-1.mvp"), 1,
                "that no writer the custodians pinned signed", "removed", "nothing was unsealed");
        assertTrue(Cli.run(Map.of(), "vault", "info", "--vault", deleted.toString()).out().contains("Provenance:  NOT RELEASABLE"));
        String info = Cli.run(Map.of(), "vault", "info", "--vault", vault.toString()).out();
        assertTrue(info.contains("signed by pinned writer(s)") && info.contains("state #1 (batch 1"), info);
        Path withdrawn = tmp.resolve("withdrawn-record.db");
        Files.copy(vault, withdrawn);
        String first;
        try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + withdrawn);
             java.sql.ResultSet r = c.createStatement().executeQuery("SELECT min(id) FROM records")) {
            first = r.getString(1);
        }
        assertRefused(Cli.run(Map.of(), "vault", "withdraw", "--vault", withdrawn.toString(), "--record", first), 2, "--identity");
        assertEquals(0, Cli.run(Cli.ADMIN_ENV, "vault", "withdraw", "--vault", withdrawn.toString(), "--record", first,
                "--identity", admin.toString(), "-q").exit());
        try (org.medvault.app.vault.VaultStore store = org.medvault.app.vault.VaultStore.open(withdrawn)) {
            List<String> writers = store.roster().writerKeys();
            assertEquals(store.stats().records(), store.checkWriters(writers).records());
            org.medvault.app.vault.VaultStore.SignedState state = store.checkState(store.digest(), writers);
            assertEquals("withdrew " + first, state.what());
            assertEquals(org.medvault.app.keys.Identity.readPublic(org.medvault.app.keys.Identity.publicFileOf(admin)).fingerprint(),
                    state.writer());
        }
        try (org.medvault.app.vault.VaultStore store = org.medvault.app.vault.VaultStore.open(deleted)) {
            assertTrue(store.checkWriters(store.roster().writerKeys()).records() > 0, "each chunk alone still verifies");
        }
    }

    /**
     * Attack 2 of issue 23: the forged result handed in again as the custodian's "own derivation"
     * ({@code --derived}) was compared with itself and decrypted. There is no such path now: the
     * custodian's tool always re-derives from its own vault copy.
     */
    @Test
    void aDerivationHandedInIsNeverDecrypted() throws IOException {
        Path oracle = craft(result, "derived-oracle.mvr", h -> { }, s -> {
            for (int i = 0; i < s.size(); i++) {
                s.set(i, keyOracle(s.get(i)));
            }
            return s;
        }, true);
        Path ledger = tmp.resolve("derived-ledger");
        Cli.Result r = Cli.run(Map.of("MEDVAULT_PASSPHRASE", pass(5)), "decrypt", "partial", "--share",
                keys.resolve("custodian-5.share").toString(), "--result", oracle.toString(), "--vault", custodianVault.toString(),
                "--derived", oracle.toString(), "--signers", "1,3,5", "--ledger", ledger.toString(),
                "--out", tmp.resolve("derived-5.mvp").toString());
        assertRefused(r, 2, "--derived was removed", "--server-key");
        // And with the server key as well: re-derived, compared, refused.
        r = Cli.run(Map.of("MEDVAULT_PASSPHRASE", pass(5)), "decrypt", "partial", "--share",
                keys.resolve("custodian-5.share").toString(), "--result", oracle.toString(), "--vault", custodianVault.toString(),
                "--server-key", keys.resolve("server.key").toString(), "--signers", "1,3,5", "--ledger", ledger.toString(),
                "--out", tmp.resolve("derived-5.mvp").toString());
        assertRefused(r, 1, "not what", "nothing was unsealed");
        assertFalse(Files.exists(tmp.resolve("derived-5.mvp")));
        assertFalse(Files.exists(ledger), "nothing was counted either");
    }

    /**
     * The flooding bound is per released block: each custodian counts the distinct squashed blocks
     * it released under the key and refuses past its limit, with nothing written. The same
     * ciphertexts released again (the partial is deterministic) count once.
     */
    @Test
    void theLedgerCountsDistinctBlocksAndRefusesPastTheLimit() throws IOException {
        Path ledger = tmp.resolve("ledger-2");
        java.util.function.BiFunction<String, String, Cli.Result> run = (limit, out) -> Cli.run(
                Map.of("MEDVAULT_PASSPHRASE", pass(2)), "decrypt", "partial", "--share", keys.resolve("custodian-2.share").toString(),
                "--result", result.toString(), "--vault", custodianVault.toString(), "--server-key",
                keys.resolve("server.key").toString(), "--signers", "1,2,3", "--ledger", ledger.toString(),
                "--max-released-blocks", limit, "--out", tmp.resolve(out).toString(), "--json");
        Cli.Result tooFew = run.apply("3", "ledger-refused.mvp");
        assertRefused(tooFew, 1, "past the limit of 3", "nothing was", "written");
        assertFalse(Files.exists(tmp.resolve("ledger-refused.mvp")));
        assertFalse(Files.exists(ledger));

        Cli.Result first = run.apply(String.valueOf(org.medvault.app.release.ReleaseLedger.DEFAULT_LIMIT), "ledger-1.mvp");
        assertEquals(0, first.exit(), first.toString());
        long blocks = JSON.readTree(first.out()).get("blocks").asLong();
        assertEquals(blocks, JSON.readTree(first.out()).get("ledgerBlocks").asLong());
        List<String> lines = Files.readAllLines(ledger);
        assertTrue(lines.get(0).startsWith("medvault-release-ledger/1 "), lines.get(0));
        assertEquals(JSON.readTree(first.out()).get("outputs").asInt() + 1, lines.size(), "one line per released output: " + lines);

        // Again, with a limit of exactly what was released: the same blocks cost nothing new.
        Cli.Result again = run.apply(String.valueOf(blocks), "ledger-2.mvp");
        assertEquals(0, again.exit(), again.toString());
        assertEquals(blocks, JSON.readTree(again.out()).get("ledgerBlocks").asLong());
        assertArrayEquals(Files.readAllBytes(tmp.resolve("ledger-1.mvp")), Files.readAllBytes(tmp.resolve("ledger-2.mvp")));
        assertEquals(lines, Files.readAllLines(ledger));

        // A limit above the default would loosen the bound: a usage error.
        assertRefused(run.apply(String.valueOf(org.medvault.app.release.ReleaseLedger.DEFAULT_LIMIT + 1), "x.mvp"), 2,
                "--max-released-blocks");
        // A damaged ledger is not silently restarted from zero.
        Files.writeString(ledger, "garbage\n");
        assertRefused(run.apply("100", "ledger-3.mvp"), 1, "not the release ledger");
        assertFalse(Files.exists(tmp.resolve("ledger-3.mvp")));
    }

    /** A partial whose header was edited and signed again by {@code signer}. */
    static byte[] resign(Path partial, java.util.function.Function<byte[], byte[]> signer, Consumer<ObjectNode> edit)
            throws IOException {
        byte[] b = Files.readAllBytes(partial);
        String magic = "MEDVAULT-PARTIAL v2\n";
        int end = magic.length();
        while (b[end] != '\n') {
            end++;
        }
        ObjectNode h = (ObjectNode) JSON.readTree(new String(b, magic.length(), end - magic.length(), StandardCharsets.UTF_8));
        edit.accept(h);
        byte[] head = (magic + JSON.writeValueAsString(h) + "\n").getBytes(StandardCharsets.UTF_8);
        byte[] body = java.util.Arrays.copyOfRange(b, end + 1, b.length - 64);
        byte[] unsigned = java.util.Arrays.copyOf(head, head.length + body.length);
        System.arraycopy(body, 0, unsigned, head.length, body.length);
        byte[] sig = signer.apply(unsigned);
        byte[] out = java.util.Arrays.copyOf(unsigned, unsigned.length + sig.length);
        System.arraycopy(sig, 0, out, unsigned.length, sig.length);
        return out;
    }

    /** Re-signed with someone else's key (the analyst's own). */
    static byte[] resign(Path partial, java.security.PrivateKey key, Consumer<ObjectNode> edit) throws IOException {
        return resign(partial, data -> CustodianShare.sign(key, data), edit);
    }

    /** Re-signed with custodian {@code signer}'s real key. */
    static byte[] resign(Path partial, int signer, Consumer<ObjectNode> edit) throws IOException {
        Path share = keys.resolve("custodian-" + signer + ".share");
        CustodianShare s = CustodianShare.open(Files.readAllBytes(share), pass(signer).toCharArray(), share.toString());
        try {
            return resign(partial, s::sign, edit);
        } finally {
            s.wipe();
        }
    }

    @Test
    void combineRefusesWhatItMust() throws Exception {
        List<String> ok = released134;
        assertRefused(combine(result, ok.subList(0, 2)), 1, "needs 3", "nothing was released");
        assertRefused(combine(result, List.of(ok.get(0), ok.get(1), ok.get(1))), 1, "both from custodian 3");

        assertEquals(0, partial(2, "1,2,3", result, "other-set-2.mvp").exit());
        assertRefused(combine(result, List.of(ok.get(0), ok.get(1), tmp.resolve("other-set-2.mvp").toString())), 1, "mixed signer sets");

        Path tampered = tmp.resolve("tampered.mvp");
        byte[] b = Files.readAllBytes(Path.of(ok.get(2)));
        b[b.length - 100] ^= 1; // inside the partial values
        Files.write(tampered, b);
        assertRefused(combine(result, List.of(ok.get(0), ok.get(1), tampered.toString())), 1, "signature does not verify");

        // Validly signed by custodian 4 itself, but for other outputs, or another key.
        Path otherOutputs = tmp.resolve("other-outputs.mvp");
        Files.write(otherOutputs, resign(Path.of(ok.get(2)), 4, h -> h.put("outputsDigest", "ef".repeat(32))));
        assertRefused(combine(result, List.of(ok.get(0), ok.get(1), otherOutputs.toString())), 1, "partial of other outputs");
        Path foreign = tmp.resolve("foreign-key.mvp");
        Files.write(foreign, resign(Path.of(ok.get(2)), 4, h -> h.put("keyId", "ab".repeat(32))));
        assertRefused(combine(result, List.of(ok.get(0), ok.get(1), foreign.toString())), 1, "partial of key abab");

        // Signed by custodian 4 but claiming to be custodian 5: the signature check catches it.
        Path impostor = tmp.resolve("impostor.mvp");
        Files.write(impostor, resign(Path.of(ok.get(2)), 4, h -> h.put("custodian", 5)));
        assertRefused(combine(result, List.of(ok.get(0), ok.get(1), impostor.toString())), 1, "does not verify against custodian 5");
    }

    @Test
    void partialRefusesWhatItMust() {
        assertRefused(partial(2, "1,3,4", result, "x.mvp"), 2, "does not include custodian 2");
        assertRefused(partial(2, "1,2", result, "x.mvp"), 2, "needs exactly 3");
        Cli.Result wrongPass = partial(2, pass(1), "1,2,3", result, custodianVault, "x.mvp");
        assertRefused(wrongPass, 1, "wrong passphrase");
        Cli.Result noKey = Cli.run(Map.of("MEDVAULT_PASSPHRASE", pass(1)), "decrypt", "partial", "--share",
                keys.resolve("custodian-1.share").toString(), "--result", result.toString(), "--signers", "1,3,4");
        assertRefused(noKey, 2, "--vault");
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
        String writer = org.medvault.app.keys.Identity.publicFileOf(admin).toString();
        Cli.Result noWriter = Cli.run(env, "keys", "generate", "--custodians", "3", "--threshold", "2", "--out",
                tmp.resolve("nowriter").toString());
        assertEquals(2, noWriter.exit(), noWriter.toString());
        assertTrue(noWriter.err().contains("--writer"), noWriter.err());
        assertFalse(Files.exists(tmp.resolve("nowriter")));
        Cli.Result noPass = Cli.run(Map.of(), "keys", "generate", "--custodians", "3", "--threshold", "2", "--writer", writer, "--out",
                tmp.resolve("nopass").toString());
        assertEquals(2, noPass.exit());
        assertTrue(noPass.err().contains("MEDVAULT_PASSPHRASE_1"), noPass.err());
        Cli.Result existing = Cli.run(env, "keys", "generate", "--custodians", "5", "--threshold", "3", "--writer", writer, "--out",
                keys.toString());
        assertEquals(1, existing.exit());
        assertTrue(existing.err().contains("already holds keys"), existing.err());
    }

    @Test
    void keysInfoAndVerifyUnderstandThresholdSets() throws IOException {
        Cli.Result info = Cli.run(Map.of(), "keys", "info", keys.toString());
        assertEquals(0, info.exit(), info.toString());
        assertTrue(info.out().contains("3 of 5 custodians") && info.out().contains("custodian-share of custodian 4"), info.out());
        assertTrue(info.out().contains("fingerprint " + fingerprint + "; no release shows a cohort under 11"), info.out());
        assertFalse(info.out().contains("Missing"), info.out());
        Cli.Result verify = Cli.run(Map.of(), "keys", "verify", keys.toString(), "--json");
        assertEquals(0, verify.exit(), verify.toString());
        assertTrue(JSON.readTree(verify.out()).get("ok").asBoolean());
        assertTrue(verify.out().contains("custodian roster signed by every custodian"), verify.out());
        // The personal-key decrypt path refuses nothing silently: a threshold result has no client key to use.
        Cli.Result personal = Cli.run(Map.of("MEDVAULT_PASSPHRASE", pass(1)), "decrypt", "--key",
                keys.resolve("custodian-1.share").toString(), result.toString());
        assertEquals(1, personal.exit(), personal.toString());
        assertTrue(personal.err().contains("decrypt partial"), personal.err());
    }
}

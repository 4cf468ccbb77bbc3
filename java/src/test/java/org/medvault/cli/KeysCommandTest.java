package org.medvault.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** The keys commands through the real picocli entry point, on real keys. */
class KeysCommandTest {
    private static final String PASS = "correct horse battery staple";
    private static final Map<String, String> ENV = Map.of("MEDVAULT_PASSPHRASE", PASS);
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;
    /** One key set generated through the CLI and shared by the tests that only read it. */
    static Path keys;
    static JsonNode generated;

    @BeforeAll
    static void generateOnce() throws IOException {
        keys = tmp.resolve("alice");
        Cli.Result r = Cli.run(ENV, "keys", "generate", "--out", keys.toString(), "--json");
        assertEquals(0, r.exit(), r.toString());
        generated = JSON.readTree(r.out());
    }

    /** Nothing any test of this class ran printed or left a passphrase or the client key's bytes. */
    @org.junit.jupiter.api.AfterAll
    static void noSecretLeaked() throws IOException {
        byte[] raw = org.medvault.app.keys.SecretKeyFile.open(Files.readAllBytes(keys.resolve("client.key")), PASS.toCharArray(),
                "client.key");
        java.util.List<String> passphrases = new java.util.ArrayList<>(java.util.List.of(PASS, "another passphrase",
                "a brand new passphrase"));
        Path generatedPass = tmp.resolve("generated.pass");
        if (Files.exists(generatedPass)) {
            passphrases.add(Files.readString(generatedPass).strip());
        }
        SecretScan.assertNothingLeaks(tmp, passphrases, java.util.List.of(raw));
    }

    private static Path copyOfKeys(String name) throws IOException {
        Path dst = tmp.resolve(name);
        Files.createDirectories(dst);
        try (Stream<Path> files = Files.list(keys)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.copy(f, dst.resolve(f.getFileName()));
            }
        }
        return dst;
    }

    @Test
    void generateWritesACompleteProtectedKeySet() throws IOException {
        String keyId = generated.get("keyId").asText();
        assertTrue(keyId.matches("[0-9a-f]{64}"), keyId);
        assertEquals("PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128", generated.get("parameters").asText());
        for (String f : new String[] {"client.key", "server.key", "public.key", "submission.key", "submission.crs", "key.json"}) {
            assertTrue(Files.isRegularFile(keys.resolve(f)), f);
        }
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(keys.resolve("client.key"))));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(keys)));
        String clientKey = new String(Files.readAllBytes(keys.resolve("client.key")), StandardCharsets.ISO_8859_1);
        assertTrue(clientKey.startsWith("MEDVAULT-SECRET v1\n"), "sealed, not raw");
        assertFalse(clientKey.contains(PASS));
        try (Stream<Path> files = Files.list(keys)) {
            assertEquals(6, files.count(), "no temporary files left behind");
        }
    }

    @Test
    void infoDescribesWithoutSecrets() throws IOException {
        Cli.Result r = Cli.run(Map.of(), "keys", "info", keys.toString(), "--json");
        assertEquals(0, r.exit(), r.toString());
        JsonNode j = JSON.readTree(r.out());
        assertEquals(generated.get("keyId").asText(), j.get("keyId").asText());
        assertEquals(6, j.get("parts").size());
        assertEquals(0, j.get("missing").size());
        for (JsonNode p : j.get("parts")) {
            assertEquals(j.get("keyId").asText(), p.get("keyId").asText(), p.toString());
        }
        Cli.Result human = Cli.run(Map.of(), "keys", "info", keys.resolve("client.key").toString());
        assertEquals(0, human.exit(), human.toString());
        assertTrue(human.out().contains("passphrase-protected"), human.out());
        assertFalse(human.out().contains(PASS) || human.err().contains(PASS));
    }

    @Test
    void verifyChecksFilesBelongTogether() throws IOException {
        Cli.Result r = Cli.run(ENV, "keys", "verify", keys.toString(), "--check-secret", "--json", "-q");
        assertEquals(0, r.exit(), r.toString());
        JsonNode j = JSON.readTree(r.out());
        assertTrue(j.get("ok").asBoolean());
        assertEquals(11, j.get("checks").size());
        assertEquals("", r.err(), "--quiet prints nothing on stderr");

        // A server key from another key set does not belong.
        Path other = tmp.resolve("other");
        assertEquals(0, Cli.run(ENV, "keys", "generate", "--out", other.toString(), "-q").exit());
        Path mixed = copyOfKeys("mixed");
        Files.copy(other.resolve("server.key"), mixed.resolve("server.key"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Cli.Result bad = Cli.run(ENV, "keys", "verify", mixed.toString());
        assertEquals(1, bad.exit(), bad.toString());
        assertTrue(bad.out().contains("FAIL server.key digest"), bad.out());
        assertTrue(bad.out().contains("FAIL server.key key id"), bad.out());
    }

    @Test
    void wrongPassphraseFailsClearlyAndWritesNothing() throws IOException {
        Path dir = copyOfKeys("wrongpass");
        byte[] before = Files.readAllBytes(dir.resolve("client.key"));
        Path newPass = tmp.resolve("np-wrong");
        Files.writeString(newPass, "another passphrase\n");
        Cli.Result r = Cli.run(Map.of("MEDVAULT_PASSPHRASE", "not the passphrase"), "keys", "change-passphrase",
                dir.toString(), "--new-passphrase-file", newPass.toString());
        assertEquals(1, r.exit(), r.toString());
        assertTrue(r.err().contains("wrong passphrase"), r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line, no stack trace: " + r.err());
        assertArrayEquals(before, Files.readAllBytes(dir.resolve("client.key")), "nothing written");
        Cli.Result v = Cli.run(Map.of("MEDVAULT_PASSPHRASE", "not the passphrase"), "keys", "verify", dir.toString(),
                "--check-secret");
        assertEquals(1, v.exit(), v.toString());
    }

    @Test
    void weakPassphrasesAreRefusedAndAGeneratedOneIsNeverPrinted() throws IOException {
        // The attack on a careless user: "abc" twice would seal a key that decrypts everything.
        Path fresh = tmp.resolve("weak-fresh");
        Cli.Result g = Cli.run(Map.of("MEDVAULT_PASSPHRASE", "abc"), "keys", "generate", "--out", fresh.toString());
        assertEquals(1, g.exit(), g.toString());
        assertTrue(g.err().contains("the passphrase for client.key is weak: zxcvbn score 0 of 4")
                && g.err().contains("--generate-passphrase"), g.err());
        assertTrue(!Files.exists(fresh.resolve("client.key")), "nothing written");
        Cli.Result c = Cli.run(Map.of("MEDVAULT_PASSPHRASE", PASS, "MEDVAULT_NEW_PASSPHRASE", "password123"), "keys",
                "change-passphrase", copyOfKeys("weak").toString());
        assertEquals(1, c.exit(), c.toString());
        assertTrue(c.err().contains("the new passphrase is weak") && c.err().contains("common password"), c.err());

        // Insisting works, with a warning; a generated passphrase goes to a 0600 file only.
        Path dir = copyOfKeys("weak-insist");
        Cli.Result insist = Cli.run(Map.of("MEDVAULT_PASSPHRASE", PASS, "MEDVAULT_NEW_PASSPHRASE", "password123"), "keys",
                "change-passphrase", dir.toString(), "--allow-weak-passphrase");
        assertEquals(0, insist.exit(), insist.toString());
        assertTrue(insist.err().contains("warning: the new passphrase is weak"), insist.err());
        Path gen = tmp.resolve("generated.pass");
        Cli.Result made = Cli.run(Map.of("MEDVAULT_PASSPHRASE", "password123"), "keys", "change-passphrase", dir.toString(),
                "--generate-passphrase", gen.toString());
        assertEquals(0, made.exit(), made.toString());
        String secret = Files.readString(gen).strip();
        assertTrue(secret.matches("([a-z2-9]{5}-){5}[a-z2-9]{5}"), "format");
        assertEquals(java.util.Set.of(java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                java.nio.file.attribute.PosixFilePermission.OWNER_WRITE), Files.getPosixFilePermissions(gen));
        assertTrue(!made.out().contains(secret) && !made.err().contains(secret), "never printed");
        Cli.Result v = Cli.run(Map.of(), "keys", "verify", dir.toString(), "--check-secret", "--passphrase-file", gen.toString());
        assertEquals(0, v.exit(), v.toString());
        Cli.Result again = Cli.run(Map.of("MEDVAULT_PASSPHRASE", secret), "keys", "change-passphrase", dir.toString(),
                "--generate-passphrase", gen.toString());
        assertEquals(2, again.exit(), again.toString()); // the file exists: never overwritten
    }

    @Test
    void tamperedClientKeyIsRefused() throws IOException {
        Path dir = copyOfKeys("tampered");
        Path ck = dir.resolve("client.key");
        String file = new String(Files.readAllBytes(ck), StandardCharsets.ISO_8859_1);
        // 1. A header byte: still valid JSON, authenticated as AAD.
        Files.write(ck, file.replace("\"iterations\":3", "\"iterations\":2").getBytes(StandardCharsets.ISO_8859_1));
        Cli.Result r1 = Cli.run(ENV, "keys", "change-passphrase", dir.toString(), "--new-passphrase-file", passFile("n1"));
        assertEquals(1, r1.exit(), r1.toString());
        assertTrue(r1.err().contains("modified"), r1.err());
        // 2. A ciphertext byte.
        byte[] bytes = file.getBytes(StandardCharsets.ISO_8859_1);
        bytes[bytes.length - 100] ^= 0x01;
        Files.write(ck, bytes);
        Cli.Result r2 = Cli.run(ENV, "keys", "verify", dir.toString(), "--check-secret");
        assertEquals(1, r2.exit(), r2.toString());
        assertTrue(r2.out().contains("FAIL client.key digest"), r2.out());
        assertTrue(r2.out().contains("wrong passphrase, or the file was modified"), r2.out());
    }

    private static String passFile(String name) throws IOException {
        Path p = tmp.resolve(name);
        Files.writeString(p, "a brand new passphrase\n");
        return p.toString();
    }

    @Test
    void existingKeysAreNotOverwrittenWithoutForce() throws IOException {
        Path dir = copyOfKeys("existing");
        byte[] before = Files.readAllBytes(dir.resolve("client.key"));
        Cli.Result r = Cli.run(ENV, "keys", "generate", "--out", dir.toString());
        assertEquals(1, r.exit(), r.toString());
        assertTrue(r.err().contains("already holds keys") && r.err().contains("--force"), r.err());
        assertArrayEquals(before, Files.readAllBytes(dir.resolve("client.key")));

        Cli.Result forced = Cli.run(ENV, "keys", "generate", "--out", dir.toString(), "--force", "--json", "-q");
        assertEquals(0, forced.exit(), forced.toString());
        JsonNode j = JSON.readTree(forced.out());
        Path replaced = Path.of(j.get("replacedInto").asText());
        assertArrayEquals(before, Files.readAllBytes(replaced.resolve("client.key")), "old key kept, not lost");
        assertNotEquals(generated.get("keyId").asText(), j.get("keyId").asText());
        assertEquals(0, Cli.run(ENV, "keys", "verify", dir.toString(), "--check-secret", "-q").exit());
    }

    @Test
    void changePassphraseKeepsTheKeySetValid() throws IOException {
        Path dir = copyOfKeys("change");
        String np = passFile("np-change");
        Cli.Result r = Cli.run(ENV, "keys", "change-passphrase", dir.toString(), "--new-passphrase-file", np, "--json", "-q");
        assertEquals(0, r.exit(), r.toString());
        assertEquals(generated.get("keyId").asText(), JSON.readTree(r.out()).get("keyId").asText());
        assertEquals(0, Cli.run(Map.of(), "keys", "verify", dir.toString(), "--check-secret", "--passphrase-file", np, "-q").exit(),
                "new passphrase opens it, key.json digest updated");
        assertEquals(1, Cli.run(ENV, "keys", "verify", dir.toString(), "--check-secret", "-q").exit(), "old one no longer does");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("client.key"))));
    }

    @Test
    void missingAndUnreadableInputsGiveClearErrors() throws IOException {
        Cli.Result missing = Cli.run(ENV, "keys", "info", tmp.resolve("nope").toString());
        assertEquals(1, missing.exit());
        assertTrue(missing.err().contains("nope") && missing.err().contains("no such file"), missing.err());

        Path partial = copyOfKeys("partial");
        Files.delete(partial.resolve("key.json"));
        Cli.Result noManifest = Cli.run(ENV, "keys", "verify", partial.toString());
        assertEquals(1, noManifest.exit());
        assertTrue(noManifest.err().contains("key.json"), noManifest.err());

        Path dirAsKey = copyOfKeys("dirAsKey");
        Files.delete(dirAsKey.resolve("public.key"));
        Files.createDirectory(dirAsKey.resolve("public.key"));
        Cli.Result unreadable = Cli.run(ENV, "keys", "verify", dirAsKey.toString());
        assertEquals(1, unreadable.exit(), unreadable.toString());
        assertTrue(unreadable.err().contains("public.key"), unreadable.err());

        Path junk = tmp.resolve("junk.key");
        Files.writeString(junk, "not a key");
        Cli.Result notKey = Cli.run(ENV, "keys", "info", junk.toString());
        assertEquals(1, notKey.exit());
        assertTrue(notKey.err().contains("junk.key") && notKey.err().contains("not a MedVault key file"), notKey.err());

        Cli.Result noPassFile = Cli.run(Map.of(), "keys", "generate", "--out", tmp.resolve("x").toString(),
                "--passphrase-file", tmp.resolve("missing-pass").toString());
        assertEquals(2, noPassFile.exit(), noPassFile.toString());
        assertTrue(noPassFile.err().contains("--passphrase-file"), noPassFile.err());
        assertFalse(Files.exists(tmp.resolve("x")), "nothing created");
    }

    @Test
    void noPassphraseSourceIsAUsageError() {
        Cli.Result r = Cli.run(Map.of(), "keys", "generate", "--out", tmp.resolve("nopass").toString());
        assertEquals(2, r.exit(), r.toString());
        assertTrue(r.err().contains("MEDVAULT_PASSPHRASE") && r.err().contains("--passphrase-file"), r.err());
        assertFalse(Files.exists(tmp.resolve("nopass")));
    }

    @Test
    void helpVersionAndUsageErrors() {
        Cli.Result version = Cli.run(Map.of(), "--version");
        assertEquals(0, version.exit());
        assertTrue(version.out().contains("tfhe 1.8.2"), version.out());
        Cli.Result help = Cli.run(Map.of(), "keys", "generate", "--help");
        assertEquals(0, help.exit());
        assertTrue(help.out().contains("--passphrase-file"), help.out());
        Cli.Result rootHelp = Cli.run(Map.of(), "--help");
        assertTrue(rootHelp.out().contains("Exit codes"), rootHelp.out());
        Cli.Result unknown = Cli.run(Map.of(), "keys", "generate", "--bogus");
        assertEquals(2, unknown.exit());
        assertTrue(unknown.err().contains("--bogus") && unknown.err().contains("--help"), unknown.err());
        assertEquals(2, Cli.run(Map.of(), "keys").exit());
        Cli.Result completion = Cli.run(Map.of(), "completion");
        assertEquals(0, completion.exit());
        assertTrue(completion.out().contains("complete -F"), completion.out().substring(0, 200));
    }
}

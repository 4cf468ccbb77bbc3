package org.medvault.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.medvault.app.keys.CustodianShare;
import org.medvault.app.keys.Identity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Identities through the CLI: what is written, what is secret, and what a tampered file gets. */
class IdentityCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void createWritesASealedSecretAndAPublicPartThatSigns() throws Exception {
        Path id = tmp.resolve("admin.id");
        Cli.Result r = Cli.run(Cli.ADMIN_ENV, "identity", "create", "--out", id.toString(), "--name", "Records admin", "--json");
        assertEquals(0, r.exit(), r.toString());
        JsonNode made = JSON.readTree(r.out());
        Path pub = tmp.resolve("admin.pub");
        assertTrue(Files.exists(pub));
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(id)));
        Identity.Public p = Identity.readPublic(pub);
        assertEquals(made.get("fingerprint").asText(), p.fingerprint());
        assertTrue(p.fingerprint().matches("[0-9a-f]{4}(-[0-9a-f]{4}){5}"), p.fingerprint());
        assertFalse(r.out().contains(Cli.ADMIN_PASS));
        // The secret file holds no plain key material: only its public key's id is readable.
        String sealed = new String(Files.readAllBytes(id), StandardCharsets.ISO_8859_1);
        assertFalse(sealed.contains(p.publicKey()));

        Identity opened = Identity.open(id, Cli.ADMIN_PASS.toCharArray());
        try {
            byte[] data = "a chunk statement".getBytes(StandardCharsets.UTF_8);
            assertTrue(CustodianShare.verify(p.publicKey(), data, opened.sign(data)));
            assertEquals("Records admin", opened.name());
        } finally {
            opened.wipe();
        }

        Cli.Result show = Cli.run(Map.of(), "identity", "show", pub.toString());
        assertTrue(show.out().contains("Fingerprint: " + p.fingerprint()), show.out());
        // Never overwritten, and asked for nothing before saying so.
        Cli.Result again = Cli.run(Map.of(), "identity", "create", "--out", id.toString(), "--name", "x");
        assertEquals(1, again.exit(), again.toString());
        assertTrue(again.err().contains("already exists"), again.err());
    }

    @Test
    void wrongPassphraseWeakPassphraseAndTamperedFilesAreRefused() throws Exception {
        Path id = Cli.writer(tmp);
        Path other = tmp.resolve("x.db");
        Cli.Result wrong = Cli.run(Map.of(IdentityOption.ENV, "not the admin's passphrase"), "vault", "withdraw", "--vault",
                other.toString(), "--record", "r1", "--identity", id.toString());
        assertEquals(1, wrong.exit(), wrong.toString());
        assertTrue(wrong.err().contains("wrong passphrase"), wrong.err());

        Cli.Result weak = Cli.run(Map.of(IdentityOption.ENV, "admin"), "identity", "create", "--out", tmp.resolve("weak.id").toString(),
                "--name", "Weak");
        assertEquals(1, weak.exit(), weak.toString());
        assertTrue(weak.err().contains("weak"), weak.err());
        assertFalse(Files.exists(tmp.resolve("weak.id")));

        // A public file whose fingerprint does not belong to its key (someone swapped the key).
        Path pub = Identity.publicFileOf(id);
        ObjectNode edited = (ObjectNode) JSON.readTree(Files.readAllBytes(pub));
        edited.put("publicKey", CustodianShare.encodePublic(CustodianShare.newSigningKeyPair().getPublic()));
        Path swapped = tmp.resolve("swapped.pub");
        Files.write(swapped, JSON.writeValueAsBytes(edited));
        Cli.Result bad = Cli.run(Map.of(), "identity", "show", swapped.toString());
        assertEquals(1, bad.exit(), bad.toString());
        assertTrue(bad.err().contains("fingerprint does not belong"), bad.err());
        Path garbage = tmp.resolve("garbage.pub");
        Files.writeString(garbage, "{\"format\":\"medvault-identity/1\",\"publicKey\":\"AAAA\"}");
        assertEquals(1, Cli.run(Map.of(), "identity", "show", garbage.toString()).exit());
        // A flipped byte in the sealed file: the AEAD refuses it like a wrong passphrase.
        byte[] b = Files.readAllBytes(id);
        b[b.length - 5] ^= 1;
        Path flipped = tmp.resolve("flipped.id");
        Files.write(flipped, b);
        Cli.Result f = Cli.run(Cli.ADMIN_ENV, "vault", "withdraw", "--vault", other.toString(), "--record", "r1", "--identity",
                flipped.toString());
        assertEquals(1, f.exit(), f.toString());
        assertTrue(f.err().contains("wrong passphrase, or the file was modified"), f.err());
    }
}

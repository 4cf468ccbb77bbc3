package org.medvault.app.keys;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.Base64;

import org.medvault.app.AtomicFiles;
import org.medvault.common.Digests;
import org.medvault.common.UserException;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * A person's Ed25519 identity: {@code NAME.id} holds the private key, sealed under its owner's
 * passphrase like every secret file (Argon2id → AES-256-GCM, header as associated data);
 * {@code NAME.pub} is the public part, safe to mail around, with a short fingerprint people can
 * read to each other. A key ceremony names the identities that may write a vault (its
 * <em>writers</em>): every chunk they store is signed, and custodians release only from vaults
 * whose every chunk carries a writer's signature.
 */
public final class Identity {
    public static final String KIND = "identity";
    public static final String PUBLIC_FORMAT = "medvault-identity/1";
    /** Public identity files are tiny; anything larger is not one. */
    static final long MAX_PUBLIC_BYTES = 16 * 1024;

    private final String name;
    private final String publicKey;
    private final byte[] privateKey;

    private Identity(String name, String publicKey, byte[] privateKey) {
        this.name = name;
        this.publicKey = publicKey;
        this.privateKey = privateKey;
    }

    /** The public part of an identity, as {@code NAME.pub} holds it. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Public(String format, String name, String publicKey, String fingerprint, String created) {}

    /** Where the public part of {@code secretFile} goes: {@code NAME.id} → {@code NAME.pub}. */
    public static Path publicFileOf(Path secretFile) {
        String f = secretFile.getFileName().toString();
        String base = f.endsWith(".id") ? f.substring(0, f.length() - 3) : f;
        return secretFile.toAbsolutePath().resolveSibling(base + ".pub");
    }

    /**
     * Makes a new identity: {@code secretFile} (sealed, mode 0600) and its public part beside it.
     * Refuses to overwrite either.
     */
    public static Public create(Path secretFile, String name, char[] passphrase) {
        Path pubFile = publicFileOf(secretFile);
        for (Path p : new Path[] {secretFile, pubFile}) {
            if (Files.exists(p)) {
                throw new UserException(p + " already exists; an identity is never overwritten");
            }
        }
        if (name == null || name.isBlank() || name.length() > 200 || name.chars().anyMatch(Character::isISOControl)) {
            throw UserException.usage("--name: one line of at most 200 characters naming the person or role");
        }
        KeyPair kp = CustodianShare.newSigningKeyPair();
        String publicKey = CustodianShare.encodePublic(kp.getPublic());
        byte[] pub = kp.getPublic().getEncoded();
        byte[] priv = kp.getPrivate().getEncoded();
        byte[] secret = java.nio.ByteBuffer.allocate(8 + pub.length + priv.length).putInt(pub.length).put(pub)
                .putInt(priv.length).put(priv).array();
        try {
            AtomicFiles.write(secretFile, SecretKeyFile.seal(KIND, idOf(publicKey), secret, passphrase), true);
        } finally {
            Arrays.fill(secret, (byte) 0);
            Arrays.fill(priv, (byte) 0);
        }
        Public p = new Public(PUBLIC_FORMAT, name, publicKey, fingerprint(publicKey),
                Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        try {
            AtomicFiles.write(pubFile, (KeySetManifest.JSON.writeValueAsString(p) + "\n").getBytes(StandardCharsets.UTF_8), false);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return p;
    }

    /** Reads and checks a public identity file ({@code NAME.pub}). */
    public static Public readPublic(Path file) {
        byte[] bytes = AtomicFiles.read(file, "public identity");
        if (bytes.length > MAX_PUBLIC_BYTES) {
            throw new UserException(file + " is not a MedVault public identity (too large)");
        }
        Public p;
        try {
            p = KeySetManifest.JSON.readValue(bytes, Public.class);
        } catch (IOException e) {
            throw new UserException(file + " is not a MedVault public identity (" + (e instanceof com.fasterxml.jackson.core.JacksonException j ? j.getOriginalMessage() : e.getMessage()) + ")");
        }
        if (p == null || !PUBLIC_FORMAT.equals(p.format()) || p.publicKey() == null || !isEd25519(p.publicKey())) {
            throw new UserException(file + " is not a MedVault public identity (format " + (p == null ? null : p.format())
                    + ", or no Ed25519 public key)");
        }
        if (p.fingerprint() != null && !p.fingerprint().equals(fingerprint(p.publicKey()))) {
            throw new UserException(file + ": its fingerprint does not belong to its key; the file was altered");
        }
        return p;
    }

    /** Opens a sealed identity ({@code NAME.id}); the caller {@link #wipe}s it after use. */
    public static Identity open(Path file, char[] passphrase) {
        byte[] sealed = AtomicFiles.read(file, "identity");
        SecretKeyFile.Header h = SecretKeyFile.readHeader(sealed, file.toString());
        if (!KIND.equals(h.kind())) {
            throw new UserException(file + " is a " + h.kind() + ", not an identity");
        }
        byte[] secret = SecretKeyFile.open(sealed, passphrase, file.toString());
        byte[] priv = null;
        try {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(secret);
            byte[] pub = new byte[b.getInt()];
            b.get(pub);
            priv = new byte[b.getInt()];
            b.get(priv);
            if (b.hasRemaining()) {
                throw new UserException(file + " is corrupt: trailing bytes in the sealed identity");
            }
            KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(priv));
            String publicKey = Base64.getEncoder().encodeToString(pub);
            if (!isEd25519(publicKey) || !idOf(publicKey).equals(h.keyId())) {
                throw new UserException(file + " is corrupt: its sealed key does not match its header");
            }
            Path pubFile = publicFileOf(file);
            String name = Files.isRegularFile(pubFile) ? readPublic(pubFile).name() : file.getFileName().toString();
            Identity id = new Identity(name, publicKey, priv);
            priv = null;
            byte[] probe = "medvault-identity-probe".getBytes(StandardCharsets.UTF_8);
            if (!CustodianShare.verify(publicKey, probe, id.sign(probe))) {
                id.wipe();
                throw new UserException(file + " is corrupt: its private key does not match its public key");
            }
            return id;
        } catch (GeneralSecurityException | java.nio.BufferUnderflowException | IllegalArgumentException
                 | NegativeArraySizeException e) {
            throw new UserException(file + " is corrupt: not a sealed Ed25519 identity");
        } finally {
            Arrays.fill(secret, (byte) 0);
            if (priv != null) {
                Arrays.fill(priv, (byte) 0);
            }
        }
    }

    private static boolean isEd25519(String publicKeyBase64) {
        try {
            KeyFactory.getInstance("Ed25519").generatePublic(new java.security.spec.X509EncodedKeySpec(
                    Base64.getDecoder().decode(publicKeyBase64)));
            return true;
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false;
        }
    }

    /** The id a sealed identity's header carries: SHA-256 (hex) of its public key's encoding. */
    static String idOf(String publicKeyBase64) {
        return Digests.sha256(Base64.getDecoder().decode(publicKeyBase64));
    }

    /** Six groups of four hex digits (96 bits) of the public key's SHA-256, to read aloud. */
    public static String fingerprint(String publicKeyBase64) {
        return KeySetManifest.Threshold.fingerprintOf(idOf(publicKeyBase64));
    }

    public String name() {
        return name;
    }

    /** X.509, base64: what a roster lists. */
    public String publicKey() {
        return publicKey;
    }

    public String fingerprint() {
        return fingerprint(publicKey);
    }

    /** Ed25519 signature of {@code data} (deterministic, RFC 8032). */
    public byte[] sign(byte[] data) {
        try {
            return CustodianShare.sign(KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(privateKey)), data);
        } catch (GeneralSecurityException e) {
            throw new UserException("cannot sign with identity " + name + ": " + e.getMessage(), e);
        }
    }

    public void wipe() {
        Arrays.fill(privateKey, (byte) 0);
    }
}

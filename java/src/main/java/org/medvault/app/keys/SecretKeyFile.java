package org.medvault.app.keys;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.text.Normalizer;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

import org.medvault.app.HeaderedFile;
import org.medvault.common.UserException;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.bouncycastle.crypto.generators.Argon2BytesGenerator;
import org.bouncycastle.crypto.params.Argon2Parameters;

/**
 * A passphrase-protected secret (a client key, later a custodian's share), in the style of age and
 * minisign: a versioned text header with explicit KDF parameters, then the AEAD ciphertext.
 *
 * <pre>
 * MEDVAULT-SECRET v1\n
 * {"kind":"client-key","keyId":"…","kdf":{"alg":"argon2id",…,"salt":"…"},"aead":{"alg":"AES-256-GCM","nonce":"…"}}\n
 * AES-256-GCM(key = Argon2id(passphrase, salt), nonce, plaintext = secret, AAD = both header lines)
 * </pre>
 *
 * The whole header is authenticated, so no parameter (KDF cost, key id, kind) can be changed
 * without the file being refused.
 */
public final class SecretKeyFile {
    static final String MAGIC = "MEDVAULT-SECRET v1\n";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Argon2id cost: RFC 9106's second recommended setting (64 MiB, 3 passes, 4 lanes). */
    public static final int MEMORY_KIB = 64 * 1024;
    public static final int ITERATIONS = 3;
    public static final int PARALLELISM = 4;

    // Bounds on what a file may ask for, so a crafted header cannot exhaust memory or time.
    // Bounds on what a header may demand before any work: MedVault writes 64 MiB, 3 passes, 4 lanes;
    // 16x the memory and ~3x the passes leave room for stronger settings, not for a header crafted to
    // make opening the file take gigabytes and minutes (4 GiB x 64 passes was accepted before).
    private static final int MAX_MEMORY_KIB = 1024 * 1024;
    private static final int MAX_ITERATIONS = 10;
    private static final int MAX_PARALLELISM = 16;
    /** Header lines are short; this bounds how far we look for the end of the JSON line. */
    private static final int MAX_HEADER = 64 * 1024;

    /**
     * The authenticated header fields. For custodian shares, {@code custodian} is the holder's index
     * and {@code roster} the digest of the custodian roster pinned at the ceremony (see
     * {@link KeySetManifest.Threshold#digest}): readable before unsealing, authenticated by it.
     */
    @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
    public record Header(String kind, String keyId, Integer custodian, String roster, Kdf kdf, Aead aead) {}

    public record Kdf(String alg, int version, int memoryKiB, int iterations, int parallelism, String salt) {}

    public record Aead(String alg, String nonce) {}

    private SecretKeyFile() {}

    /** Encrypts {@code secret} under {@code passphrase}; returns the whole file's bytes. */
    public static byte[] seal(String kind, String keyId, byte[] secret, char[] passphrase) {
        return seal(kind, keyId, null, null, secret, passphrase);
    }

    /**
     * As {@link #seal(String, String, byte[], char[])}, naming the custodian who holds it and the
     * digest of the roster it belongs to.
     */
    public static byte[] seal(String kind, String keyId, Integer custodian, String roster, byte[] secret, char[] passphrase) {
        checkPassphrase(passphrase);
        byte[] salt = new byte[16];
        byte[] nonce = new byte[12];
        RANDOM.nextBytes(salt);
        RANDOM.nextBytes(nonce);
        Header header = new Header(kind, keyId, custodian, roster,
                new Kdf("argon2id", 0x13, MEMORY_KIB, ITERATIONS, PARALLELISM, b64(salt)),
                new Aead("AES-256-GCM", b64(nonce)));
        byte[] aad = headerBytes(header);
        byte[] key = deriveKey(passphrase, header.kdf());
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, nonce));
            c.updateAAD(aad);
            byte[] ct = c.doFinal(secret);
            byte[] out = Arrays.copyOf(aad, aad.length + ct.length);
            System.arraycopy(ct, 0, out, aad.length, ct.length);
            return out;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-256-GCM unavailable: " + e.getMessage(), e);
        } finally {
            Arrays.fill(key, (byte) 0);
        }
    }

    /** Reads the header without the passphrase (for {@code keys info}); checks only its syntax. */
    public static Header readHeader(byte[] file, String name) {
        return parse(file, name).header;
    }

    /**
     * Decrypts the secret. A wrong passphrase and a modified file look the same to an AEAD, so both
     * give one clear error; the caller must zero the returned bytes after use.
     */
    public static byte[] open(byte[] file, char[] passphrase, String name) {
        Parsed p = parse(file, name);
        byte[] key = deriveKey(passphrase, p.header.kdf());
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "AES"),
                    new GCMParameterSpec(128, unb64(p.header.aead().nonce(), name, "nonce")));
            c.updateAAD(file, 0, p.headerLength);
            return c.doFinal(file, p.headerLength, file.length - p.headerLength);
        } catch (AEADBadTagException e) {
            throw new UserException("cannot decrypt " + name + ": wrong passphrase, or the file was modified");
        } catch (GeneralSecurityException e) {
            throw new UserException("cannot decrypt " + name + ": " + e.getMessage(), e);
        } finally {
            Arrays.fill(key, (byte) 0);
        }
    }

    private record Parsed(Header header, int headerLength) {}

    private static Parsed parse(byte[] file, String name) {
        HeaderedFile f = HeaderedFile.split(file, MAGIC, MAX_HEADER, name, "MedVault secret key file");
        Header h;
        try {
            h = JSON.readValue(f.header(), Header.class);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new UserException(name + " is corrupt: unreadable header (" + e.getOriginalMessage() + ")");
        } catch (java.io.IOException e) {
            throw new UserException(name + " is corrupt: unreadable header");
        }
        if (h.kdf() == null || h.aead() == null || h.kind() == null) {
            throw new UserException(name + " is corrupt: incomplete header");
        }
        Kdf k = h.kdf();
        if (!"argon2id".equals(k.alg()) || k.version() != 0x13) {
            throw new UserException(name + ": unsupported key derivation " + k.alg() + " v" + k.version());
        }
        if (k.memoryKiB() < 8 * k.parallelism() || k.memoryKiB() > MAX_MEMORY_KIB || k.iterations() < 1
                || k.iterations() > MAX_ITERATIONS || k.parallelism() < 1 || k.parallelism() > MAX_PARALLELISM) {
            throw new UserException(name + ": key derivation parameters out of bounds (memory " + k.memoryKiB()
                    + " KiB, " + k.iterations() + " passes, " + k.parallelism() + " lanes)");
        }
        if (!"AES-256-GCM".equals(h.aead().alg())) {
            throw new UserException(name + ": unsupported cipher " + h.aead().alg());
        }
        if (unb64(k.salt(), name, "salt").length < 16 || unb64(h.aead().nonce(), name, "nonce").length != 12) {
            throw new UserException(name + " is corrupt: bad salt or nonce length");
        }
        if (file.length - f.bodyOffset() < 16) {
            throw new UserException(name + " is truncated: no ciphertext after the header");
        }
        return new Parsed(h, f.bodyOffset());
    }

    private static byte[] headerBytes(Header h) {
        try {
            return (MAGIC + JSON.writeValueAsString(h) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] deriveKey(char[] passphrase, Kdf kdf) {
        checkPassphrase(passphrase);
        byte[] pass = utf8(passphrase);
        try {
            Argon2Parameters params = new Argon2Parameters.Builder(Argon2Parameters.ARGON2_id)
                    .withVersion(Argon2Parameters.ARGON2_VERSION_13)
                    .withMemoryAsKB(kdf.memoryKiB())
                    .withIterations(kdf.iterations())
                    .withParallelism(kdf.parallelism())
                    .withSalt(Base64.getDecoder().decode(kdf.salt()))
                    .build();
            Argon2BytesGenerator gen = new Argon2BytesGenerator();
            gen.init(params);
            byte[] key = new byte[32];
            gen.generateBytes(pass, key);
            return key;
        } finally {
            Arrays.fill(pass, (byte) 0);
        }
    }

    private static void checkPassphrase(char[] passphrase) {
        if (passphrase == null || passphrase.length == 0) {
            throw UserException.usage("the passphrase is empty");
        }
    }

    /** UTF-8 of the NFC-normalised passphrase, so the same words typed anywhere give the same key. */
    private static byte[] utf8(char[] passphrase) {
        CharBuffer chars = CharBuffer.wrap(passphrase);
        if (!Normalizer.isNormalized(chars, Normalizer.Form.NFC)) {
            chars = CharBuffer.wrap(Normalizer.normalize(chars, Normalizer.Form.NFC));
        }
        ByteBuffer bb = StandardCharsets.UTF_8.encode(chars);
        byte[] out = new byte[bb.remaining()];
        bb.get(out);
        if (bb.hasArray()) {
            Arrays.fill(bb.array(), (byte) 0);
        }
        return out;
    }

    private static String b64(byte[] b) {
        return Base64.getEncoder().encodeToString(b);
    }

    private static byte[] unb64(String s, String name, String field) {
        try {
            return Base64.getDecoder().decode(s == null ? "" : s);
        } catch (IllegalArgumentException e) {
            throw new UserException(name + " is corrupt: bad " + field);
        }
    }
}

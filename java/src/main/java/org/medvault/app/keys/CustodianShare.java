package org.medvault.app.keys;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;

import org.medvault.common.UserException;

/**
 * What one custodian holds, sealed under their passphrase in {@code custodian-<i>.share}: their
 * replicated share of the noise-squashing secret (native format) and their Ed25519 signing key.
 * Payload: {@code MVCUST01}, then the share and the PKCS#8 private key, each with a 4-byte
 * big-endian length. The caller must {@link #wipe} it after use.
 */
public final class CustodianShare {
    public static final String KIND = "custodian-share";
    private static final byte[] MAGIC = {'M', 'V', 'C', 'U', 'S', 'T', '0', '1'};

    private final String keyId;
    private final int index;
    private final String rosterDigest;
    private final byte[] share;
    private final byte[] signingKey;

    private CustodianShare(String keyId, int index, String rosterDigest, byte[] share, byte[] signingKey) {
        this.keyId = keyId;
        this.index = index;
        this.rosterDigest = rosterDigest;
        this.share = share;
        this.signingKey = signingKey;
    }

    /** A fresh Ed25519 key pair for a custodian (JDK provider). */
    public static KeyPair newSigningKeyPair() {
        try {
            return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Ed25519 unavailable: " + e.getMessage(), e);
        }
    }

    /** The payload to seal: native share bytes and the PKCS#8 private key. */
    public static byte[] payload(byte[] share, PrivateKey signing) {
        byte[] pk = signing.getEncoded();
        try {
            return ByteBuffer.allocate(MAGIC.length + 8 + share.length + pk.length)
                    .put(MAGIC).putInt(share.length).put(share).putInt(pk.length).put(pk).array();
        } finally {
            Arrays.fill(pk, (byte) 0);
        }
    }

    /** Opens a share file and checks it is custodian {@code header.custodian()}'s share of {@code keyId}. */
    public static CustodianShare open(byte[] file, char[] passphrase, String name) {
        SecretKeyFile.Header h = SecretKeyFile.readHeader(file, name);
        if (!KIND.equals(h.kind()) || h.custodian() == null) {
            throw new UserException(name + " is a " + h.kind() + ", not a custodian share");
        }
        if (h.roster() == null) {
            throw new UserException(name + " names no custodian roster: it was made by an older MedVault whose releases"
                    + " could be forged; hold a new key ceremony");
        }
        byte[] payload = SecretKeyFile.open(file, passphrase, name);
        try {
            ByteBuffer b = ByteBuffer.wrap(payload);
            byte[] magic = new byte[MAGIC.length];
            b.get(magic);
            byte[] share = new byte[b.getInt()];
            b.get(share);
            byte[] key = new byte[b.getInt()];
            b.get(key);
            if (!Arrays.equals(magic, MAGIC) || b.hasRemaining()) {
                throw new UserException(name + " is corrupt: not a custodian share payload");
            }
            return new CustodianShare(h.keyId(), h.custodian(), h.roster(), share, key);
        } catch (java.nio.BufferUnderflowException | IllegalArgumentException | NegativeArraySizeException e) {
            throw new UserException(name + " is corrupt: truncated custodian share payload");
        } finally {
            Arrays.fill(payload, (byte) 0);
        }
    }

    /** The key whose noise-squashing secret this shares. */
    public String keyId() {
        return keyId;
    }

    public int index() {
        return index;
    }

    /** The native share bytes (secret; not a copy). */
    public byte[] share() {
        return share;
    }

    /** The digest of the roster this share was dealt for (sealed at the ceremony). */
    public String rosterDigest() {
        return rosterDigest;
    }

    /** Ed25519 signature of {@code data} with this custodian's key (deterministic, RFC 8032). */
    public byte[] sign(byte[] data) {
        try {
            return sign(KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(signingKey)), data);
        } catch (GeneralSecurityException e) {
            throw new UserException("cannot sign with custodian " + index + "'s key: " + e.getMessage(), e);
        }
    }

    /** Ed25519 signature of {@code data} with {@code key}. */
    public static byte[] sign(PrivateKey key, byte[] data) {
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initSign(key);
            s.update(data);
            return s.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Ed25519 signing failed: " + e.getMessage(), e);
        }
    }

    /** The custodian's public key as key.json lists it (X.509, base64). */
    public static String encodePublic(PublicKey key) {
        return Base64.getEncoder().encodeToString(key.getEncoded());
    }

    /** Checks an Ed25519 signature against a public key from key.json. */
    public static boolean verify(String publicKeyBase64, byte[] data, byte[] signature) {
        try {
            PublicKey k = KeyFactory.getInstance("Ed25519")
                    .generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(publicKeyBase64)));
            Signature s = Signature.getInstance("Ed25519");
            s.initVerify(k);
            s.update(data);
            return s.verify(signature);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false;
        }
    }

    public void wipe() {
        Arrays.fill(share, (byte) 0);
        Arrays.fill(signingKey, (byte) 0);
    }
}

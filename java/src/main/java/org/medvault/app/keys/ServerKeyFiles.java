package org.medvault.app.keys;

import java.nio.file.Files;
import java.nio.file.Path;

import org.medvault.app.AtomicFiles;
import org.medvault.app.Progress;
import org.medvault.common.UserException;
import org.medvault.fhe.CompressedServerKey;
import org.medvault.fhe.MedVaultException;
import org.medvault.fhe.ServerKey;

/** Loading a key set's server key (a file, or the key directory holding server.key). */
public final class ServerKeyFiles {
    private ServerKeyFiles() {}

    /** The server key and whether it can noise-squash. The caller closes the key. */
    public record Loaded(ServerKey key, boolean squashing) {}

    /**
     * Loads and decompresses the server key; it must belong to {@code keyId} and, when the vault
     * pinned one, have the SHA-256 {@code expectedSha256} (a flipped bit inside a key's coefficients
     * would otherwise load and compute garbage).
     */
    public static Loaded load(Path file, String keyId, String expectedSha256, Progress progress) {
        Path f = Files.isDirectory(file) ? file.resolve(KeySetManifest.SERVER_KEY) : file;
        progress.note("loading the server key " + f);
        if (!Files.isRegularFile(f) || !Files.isReadable(f)) {
            AtomicFiles.read(f, "server key"); // throws the usual clear error
        }
        if (expectedSha256 != null) {
            String got;
            try (java.io.InputStream in = Files.newInputStream(f)) {
                java.security.MessageDigest md = org.medvault.common.Digests.newSha256();
                byte[] buf = new byte[1 << 20];
                int n;
                while ((n = in.read(buf)) > 0) {
                    md.update(buf, 0, n);
                }
                got = java.util.HexFormat.of().formatHex(md.digest());
            } catch (java.io.IOException e) {
                throw new UserException("cannot read server key " + f + ": " + AtomicFiles.describe(e), e);
            }
            if (!got.equals(expectedSha256)) {
                throw new UserException(f + " is not the server key this vault was made for: its SHA-256 differs from the"
                        + " digest key.json gave when the vault was created (a corrupt or foreign file)");
            }
        }
        try (CompressedServerKey c = CompressedServerKey.read(f)) {
            if (!c.keyId().equals(keyId)) {
                throw new UserException(f + " is the server key of key " + c.keyId() + "; the vault is under key " + keyId);
            }
            return new Loaded(c.decompress(), c.config().noiseSquashing());
        } catch (MedVaultException e) {
            throw new UserException(f + " is not a MedVault server key (" + e.getMessage() + ")");
        }
    }
}

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

    /** Loads and decompresses the server key; it must belong to {@code keyId}. */
    public static Loaded load(Path file, String keyId, Progress progress) {
        Path f = Files.isDirectory(file) ? file.resolve(KeySetManifest.SERVER_KEY) : file;
        progress.note("loading the server key " + f);
        if (!Files.isRegularFile(f) || !Files.isReadable(f)) {
            AtomicFiles.read(f, "server key"); // throws the usual clear error
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

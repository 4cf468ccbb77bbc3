package org.medvault.app.keys;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.medvault.fhe.ClientKey;
import org.medvault.fhe.CompactPublicKey;
import org.medvault.fhe.CompressedServerKey;
import org.medvault.fhe.SubmissionKey;

/** Writes the public files of a key set made in a test (as 'keys generate' does, without key.json). */
public final class TestKeySets {
    private TestKeySets() {}

    /**
     * public.key, submission.key and submission.crs (and server.key when asked) of a freshly
     * generated {@code ck} into {@code dir}; returns public.key's path. Once per key: the
     * submission key is taken out of the client key.
     */
    public static Path writePublic(ClientKey ck, Path dir, boolean serverKey) throws IOException {
        Files.createDirectories(dir);
        try (CompactPublicKey pk = ck.compactPublicKey(); SubmissionKey sub = ck.takeSubmissionKey()) {
            Files.write(dir.resolve(KeySetManifest.PUBLIC_KEY), pk.serialize());
            Files.write(dir.resolve(KeySetManifest.SUBMISSION_KEY), sub.publicKeyBytes());
            Files.write(dir.resolve(KeySetManifest.SUBMISSION_CRS), sub.crsBytes());
        }
        if (serverKey) {
            try (CompressedServerKey sk = ck.compressedServerKey()) {
                Files.write(dir.resolve(KeySetManifest.SERVER_KEY), sk.serialize());
            }
        }
        return dir.resolve(KeySetManifest.PUBLIC_KEY);
    }
}

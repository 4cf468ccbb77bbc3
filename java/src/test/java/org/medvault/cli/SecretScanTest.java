package org.medvault.cli;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.AssertionFailedError;

/** The leak detector must see the leaks it exists for (else a green scan proves nothing). */
class SecretScanTest {
    @TempDir
    Path tmp;

    /** Shaped like a serialized binary LWE key: a header, then one little-endian u64 0 or 1 per coefficient. */
    static byte[] fakeKey() {
        byte[] k = new byte[40_000];
        Random r = new Random(7);
        for (int i = 64; i + 8 <= k.length; i += 8) {
            k[i] = (byte) r.nextInt(2);
        }
        return k;
    }

    @Test
    void leaksInFilesAndOutputAreFoundAndPassphraseFilesAreNot() throws IOException {
        byte[] key = fakeKey();
        String pass = "a long enough test passphrase";
        Files.writeString(tmp.resolve("pass.txt"), pass + "\n"); // a passphrase file written on purpose
        Files.write(tmp.resolve("public.bin"), new byte[50_000]);
        SecretScan.assertNothingLeaks(tmp, List.of(pass), List.of(key)); // clean: passes

        byte[] dump = new byte[key.length + 100];
        System.arraycopy(key, 0, dump, 77, key.length);
        Files.write(tmp.resolve("core.dump"), dump);
        AssertionFailedError inFile = assertThrows(AssertionFailedError.class,
                () -> SecretScan.assertNothingLeaks(tmp, List.of(pass), List.of(key)));
        assertTrue(inFile.getMessage().contains("key bytes at") && inFile.getMessage().contains("core.dump"), inFile.getMessage());
        Files.delete(tmp.resolve("core.dump"));

        Files.writeString(tmp.resolve("app.log"), "unlocking with " + pass + " now");
        AssertionFailedError inLog = assertThrows(AssertionFailedError.class,
                () -> SecretScan.assertNothingLeaks(tmp, List.of(pass), List.of(key)));
        assertTrue(inLog.getMessage().contains("a passphrase in app.log"), inLog.getMessage());
        Files.delete(tmp.resolve("app.log"));

        Cli.PRINTED.add("debug: key = " + HexFormat.of().formatHex(key));
        try {
            AssertionFailedError printed = assertThrows(AssertionFailedError.class,
                    () -> SecretScan.assertNothingLeaks(tmp, List.of(pass), List.of(key)));
            assertTrue(printed.getMessage().contains("(hex) printed by a command"), printed.getMessage());
        } finally {
            Cli.PRINTED.remove(Cli.PRINTED.size() - 1);
        }
    }
}

package org.medvault.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * One personal key set made by {@code keys generate} (client.key sealed under {@link #PASS},
 * server.key, public.key, submission key and CRS, key.json), generated once per test JVM and
 * shared read-only by the CLI tests that only need some key set (keygen and its CRS cost ~15 s).
 * Tests that change key files copy them first.
 */
final class SharedKeySet {
    static final String PASS = "shared cli test key set passphrase";
    static final Map<String, String> ENV = Map.of("MEDVAULT_PASSPHRASE", PASS);
    private static Path dir;

    private SharedKeySet() {}

    static synchronized Path dir() {
        if (dir == null) {
            try {
                Path root = Files.createTempDirectory("medvault-shared-keys");
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    try (java.util.stream.Stream<Path> walk = Files.walk(root)) {
                        walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                    } catch (IOException ignored) {
                        // a temp directory: best effort
                    }
                }));
                Path d = root.resolve("keys");
                Cli.Result r = Cli.run(ENV, "keys", "generate", "--out", d.toString(), "-q");
                assertEquals(0, r.exit(), r.toString());
                dir = d;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return dir;
    }
}

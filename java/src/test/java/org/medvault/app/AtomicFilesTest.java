package org.medvault.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A writer killed with SIGKILL mid-write leaves the old file or the new one, never a mix. */
class AtomicFilesTest {
    private static final int SIZE = 32 << 20;

    /** Child process: rewrites the target forever, alternating all-'A' and all-'B' contents. */
    static final class Writer {
        public static void main(String[] args) {
            Path target = Path.of(args[0]);
            byte[] a = new byte[SIZE];
            byte[] b = new byte[SIZE];
            Arrays.fill(a, (byte) 'A');
            Arrays.fill(b, (byte) 'B');
            System.out.println("ready");
            System.out.flush();
            for (int i = 0; ; i++) {
                AtomicFiles.write(target, i % 2 == 0 ? b : a, true);
            }
        }
    }

    @Test
    void killedWriterNeverLeavesAHalfWrittenFile(@TempDir Path dir) throws Exception {
        Path target = dir.resolve("client.key");
        byte[] initial = new byte[SIZE];
        Arrays.fill(initial, (byte) 'A');
        Files.write(target, initial);
        for (int round = 0; round < 4; round++) {
            Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), Writer.class.getName(), target.toString())
                    .redirectErrorStream(true).start();
            assertEquals('r', p.getInputStream().read(), "child started");
            Thread.sleep(150 + 170L * round); // land at different points of the write cycle
            p.destroyForcibly().waitFor();
            byte[] now = Files.readAllBytes(target);
            assertEquals(SIZE, now.length, "round " + round + ": complete size");
            byte first = now[0];
            assertTrue(first == 'A' || first == 'B');
            for (int i = 0; i < now.length; i += 4096) {
                assertEquals(first, now[i], "round " + round + ": mixed contents at " + i);
            }
            assertEquals(first, now[now.length - 1]);
        }
    }

    @Test
    void secretFilesAreOwnerOnly(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("s");
        AtomicFiles.write(f, new byte[] {1, 2, 3}, true);
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file left after a completed write");
        }
    }
}

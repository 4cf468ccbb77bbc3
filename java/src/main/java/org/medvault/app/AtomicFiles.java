package org.medvault.app;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

import org.medvault.common.UserException;

/**
 * Writes that never leave a half-written file: write a temporary file in the same directory, fsync
 * it, rename it over the target, fsync the directory. Secret files are created with mode 0600
 * before any byte is written.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    public static void write(Path target, byte[] data, boolean secret) {
        Path dir = target.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = createTemp(dir, target.getFileName().toString(), secret);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer buf = ByteBuffer.wrap(data);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                ch.force(true);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
            fsyncDirectory(dir);
        } catch (IOException e) {
            throw new UserException("cannot write " + target + ": " + describe(e), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort: the temporary name never shadows a real file
                }
            }
        }
    }

    private static Path createTemp(Path dir, String name, boolean secret) throws IOException {
        boolean posix = dir.getFileSystem().supportedFileAttributeViews().contains("posix");
        FileAttribute<?>[] attrs = posix
                ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(secret
                        ? Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE)
                        : PosixFilePermissions.fromString("rw-r--r--"))}
                : new FileAttribute<?>[0];
        return Files.createTempFile(dir, "." + name + ".", ".tmp", attrs);
    }

    static void fsyncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // not all platforms can fsync a directory; the file itself is synced
        }
    }

    /**
     * Reads a whole file, with an error that names it. A file larger than any MedVault writes of its
     * kind ({@link #limitFor}) is refused before a byte is read: a crafted size cannot make it
     * allocate.
     */
    public static byte[] read(Path file, String what) {
        long limit = limitFor(what);
        try {
            long size = Files.size(file);
            if (size > limit) {
                throw new UserException(what + " " + file + " is " + size + " bytes: larger than any " + what + " MedVault"
                        + " writes (at most " + limit + "); refused before reading");
            }
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UserException("cannot read " + what + " " + file + ": " + describe(e), e);
        }
    }

    private static final long MIB = 1 << 20;

    /**
     * The largest file of each kind read whole, with a wide margin over what MedVault writes: JSON
     * (schema, key.json, layout), public keys and identities 4 MiB (written: ≤ 40 KB); sealed client keys and
     * shares 16 MiB (≤ 400 KB); a CRS 64 MiB (3.5 MB); a record file 64 MiB (20 KB); results,
     * partials and whole key files 1 GiB (a server key with noise squashing is ~300 MB).
     */
    static long limitFor(String what) {
        return switch (what) {
            case "schema", "key manifest", "submission layout", "passphrase file", "public key", "submission key", "record",
                 "identity", "public identity" -> 4 * MIB;
            case "client key", "secret key file", "custodian share" -> 16 * MIB;
            case "submission CRS", "record file" -> 64 * MIB;
            default -> 1024 * MIB;
        };
    }

    public static String describe(IOException e) {
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "no such file or directory";
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof FileAlreadyExistsException) {
            return "already exists";
        }
        if (e instanceof java.nio.file.NotDirectoryException) {
            return "not a directory";
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}

package org.medvault.fhe;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Loads {@code libmedvault_native}: from {@code -Djava.library.path} if it is there (the override),
 * else from the copy packaged in the jar under {@code /native/<os>-<arch>/}.
 */
final class NativeLibrary {
    static final String NAME = "medvault_native";
    private static volatile boolean loaded;

    private NativeLibrary() {}

    static void load() {
        if (loaded) {
            return;
        }
        synchronized (NativeLibrary.class) {
            if (loaded) {
                return;
            }
            try {
                System.loadLibrary(NAME);
            } catch (UnsatisfiedLinkError notOnLibraryPath) {
                loadFromJar(notOnLibraryPath);
            }
            loaded = true;
        }
    }

    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String osName = os.contains("linux") ? "linux" : os.contains("mac") ? "macos" : os.replace(' ', '_');
        String archName = switch (arch) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> arch;
        };
        return osName + "-" + archName;
    }

    private static void loadFromJar(UnsatisfiedLinkError cause) {
        String file = System.mapLibraryName(NAME);
        String resource = "/native/" + platform() + "/" + file;
        try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new MedVaultException(MedVaultException.Code.UNSUPPORTED,
                        "no native library for " + platform() + " in the jar (" + resource
                                + ") and none on java.library.path: " + cause.getMessage());
            }
            Path dir = Files.createTempDirectory("medvault-native");
            Path target = dir.resolve(file);
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
            target.toFile().deleteOnExit();
            dir.toFile().deleteOnExit();
            System.load(target.toAbsolutePath().toString());
        } catch (IOException e) {
            throw new MedVaultException(MedVaultException.Code.INTERNAL,
                    "cannot extract the native library " + resource + ": " + e.getMessage(), e);
        }
    }
}

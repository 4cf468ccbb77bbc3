package org.medvault.bench;

import java.util.Locale;

import org.medvault.fhe.ClientKey;
import org.medvault.fhe.CompactPublicKey;
import org.medvault.fhe.CompressedServerKey;
import org.medvault.fhe.FheConfig;
import org.medvault.fhe.FheRuntime;
import org.medvault.fhe.ServerKey;

/** Prints key generation times and serialized key sizes for every key configuration. */
public final class KeyReport {
    private KeyReport() {}

    public static void main(String[] args) {
        System.out.println("# " + FheRuntime.nativeVersion() + ", " + FheRuntime.threads() + " threads");
        System.out.println("| config | client key | public key | compressed server key | server key | keygen (client+public / compressed server / decompress) |");
        System.out.println("|---|---|---|---|---|---|");
        for (FheConfig config : new FheConfig[] {
            FheConfig.defaults(), FheConfig.defaults().withCompression(true),
            FheConfig.defaults().withNoiseSquashing(true),
            FheConfig.defaults().withCompression(true).withNoiseSquashing(true)}) {
            long t0 = System.nanoTime();
            try (ClientKey ck = ClientKey.generate(config); CompactPublicKey pk = ck.compactPublicKey()) {
                long t1 = System.nanoTime();
                try (CompressedServerKey csk = ck.compressedServerKey()) {
                    long t2 = System.nanoTime();
                    try (ServerKey sk = csk.decompress()) {
                        long t3 = System.nanoTime();
                        String name = (config.compression() ? "compression" : "")
                                + (config.compression() && config.noiseSquashing() ? "+" : "")
                                + (config.noiseSquashing() ? "noise squashing" : "");
                        System.out.printf(Locale.ROOT, "| %s | %s | %s | %s | %s | %.2f / %.2f / %.2f s |%n",
                                name.isEmpty() ? "default" : name, mb(ck.serialize().length), mb(pk.serialize().length),
                                mb(csk.serialize().length), mb(sk.serialize().length),
                                (t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9);
                    }
                }
            }
        }
    }

    private static String mb(long bytes) {
        return bytes < 1 << 20 ? String.format(Locale.ROOT, "%.1f KB", bytes / 1024.0)
                : String.format(Locale.ROOT, "%.1f MB", bytes / (1024.0 * 1024));
    }
}

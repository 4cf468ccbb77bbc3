package org.medvault.examples;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.medvault.fhe.Ciphertext;
import org.medvault.fhe.ClientKey;
import org.medvault.fhe.CompactCiphertextList;
import org.medvault.fhe.CompactPublicKey;
import org.medvault.fhe.CompressedServerKey;
import org.medvault.fhe.FheBool;
import org.medvault.fhe.FheConfig;
import org.medvault.fhe.FheRuntime;
import org.medvault.fhe.FheType;
import org.medvault.fhe.FheUint16;
import org.medvault.fhe.FheUint8;
import org.medvault.fhe.MedVaultException;
import org.medvault.fhe.ServerKey;

/**
 * End-to-end run of the Java binding on a few patient rows: key generation, public-key batch
 * encryption, an encrypted filtered count and sum, decryption, and a check against the clear result.
 * Exit code 0 when every encrypted result equals the clear one.
 */
public final class EndToEndExample {
    private EndToEndExample() {}

    /** age, sex (1 = male, 2 = female), systolic blood pressure. */
    private static final long[][] PATIENTS = {
        {71, 2, 142}, {34, 1, 118}, {66, 2, 155}, {80, 1, 160}, {67, 2, 128},
        {45, 2, 121}, {90, 2, 171}, {65, 2, 133}, {12, 1, 101}, {64, 2, 147},
    };

    public static void main(String[] args) {
        try {
            System.exit(run());
        } catch (MedVaultException e) {
            System.err.println("error [" + e.code() + "]: " + e.getMessage());
            System.exit(1);
        }
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    static int run() {
        System.out.println("MedVault end-to-end example — " + FheRuntime.nativeVersion()
                + ", " + FheRuntime.threads() + " compute threads");
        long t = System.nanoTime();
        try (ClientKey clientKey = ClientKey.generate(FheConfig.defaults());
             CompactPublicKey publicKey = clientKey.compactPublicKey()) {
            System.out.printf(Locale.ROOT, "client + public key     %6.2f s   key id %s%n", seconds(t), clientKey.keyId());
            t = System.nanoTime();
            try (CompressedServerKey compressed = clientKey.compressedServerKey()) {
                System.out.printf(Locale.ROOT, "compressed server key   %6.2f s   %,d bytes%n", seconds(t), compressed.serialize().length);
                t = System.nanoTime();
                try (ServerKey serverKey = compressed.decompress()) {
                    System.out.printf(Locale.ROOT, "decompressed server key %6.2f s%n", seconds(t));
                    return compute(clientKey, publicKey, serverKey);
                }
            }
        }
    }

    private static int compute(ClientKey clientKey, CompactPublicKey publicKey, ServerKey serverKey) {
        // 1. The hospital encrypts every row with the public key: one compact list for the batch.
        long t = System.nanoTime();
        CompactCiphertextList.Builder batch = publicKey.listBuilder();
        for (long[] p : PATIENTS) {
            batch.push(FheType.UINT8, p[0]).push(FheType.UINT8, p[1]).push(FheType.UINT16, p[2]);
        }
        byte[] stored;
        try (CompactCiphertextList list = batch.build()) {
            stored = list.serialize();
        }
        System.out.printf(Locale.ROOT, "encrypt %d rows          %6.2f s   %,d bytes stored (%,d per row)%n",
                PATIENTS.length, seconds(t), stored.length, stored.length / PATIENTS.length);

        // 2. The analyst computes, holding only the server key: count and sum of blood pressure
        //    WHERE age >= 65 AND sex = 2.
        t = System.nanoTime();
        List<Ciphertext> cells;
        try (CompactCiphertextList list = CompactCiphertextList.deserialize(stored)) {
            cells = list.expand();
        }
        List<FheUint16> flags = new ArrayList<>();
        List<FheUint16> contributions = new ArrayList<>();
        try (FheUint16 zero = serverKey.trivial(FheType.UINT16, 0)) {
            for (int i = 0; i < PATIENTS.length; i++) {
                FheUint8 age = (FheUint8) cells.get(3 * i);
                FheUint8 sex = (FheUint8) cells.get(3 * i + 1);
                FheUint16 bp = (FheUint16) cells.get(3 * i + 2);
                try (FheBool old = serverKey.ge(age, 65);
                     FheBool female = serverKey.eq(sex, 2);
                     FheBool match = serverKey.and(old, female)) {
                    flags.add(serverKey.cast(match, FheType.UINT16));
                    contributions.add(serverKey.select(match, bp, zero));
                }
            }
        }
        long count;
        long sum;
        try (FheUint16 encCount = serverKey.sum(flags); FheUint16 encSum = serverKey.sum(contributions)) {
            System.out.printf(Locale.ROOT, "encrypted query         %6.2f s   (count and sum over %d rows)%n",
                    seconds(t), PATIENTS.length);
            // 3. Decryption (with the whole client key here; threshold release comes later).
            count = clientKey.decrypt(encCount);
            sum = clientKey.decrypt(encSum);
        } finally {
            flags.forEach(Ciphertext::close);
            contributions.forEach(Ciphertext::close);
            cells.forEach(Ciphertext::close);
        }

        long clearCount = 0;
        long clearSum = 0;
        for (long[] p : PATIENTS) {
            if (p[0] >= 65 && p[1] == 2) {
                clearCount++;
                clearSum += p[2];
            }
        }
        System.out.println();
        System.out.println("SELECT count(*), sum(bp), avg(bp) WHERE age >= 65 AND sex = 2");
        System.out.printf(Locale.ROOT, "  encrypted: count = %d, sum(bp) = %d, avg(bp) = %.1f%n", count, sum, (double) sum / count);
        System.out.printf(Locale.ROOT, "  clear:     count = %d, sum(bp) = %d, avg(bp) = %.1f%n", clearCount, clearSum,
                (double) clearSum / clearCount);
        boolean ok = count == clearCount && sum == clearSum;
        System.out.println(ok ? "OK: encrypted results equal the clear ones" : "MISMATCH: encrypted results differ");
        return ok ? 0 : 1;
    }
}

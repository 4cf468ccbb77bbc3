package org.medvault.fhe;

/**
 * Real keys with MedVault's secure default parameters, generated once per test run (one JVM)
 * and shared by every test class. Never closed: they live as long as the run.
 */
final class TestKeys {
    private static ClientKey clientKey;
    private static ServerKey serverKey;
    private static CompactPublicKey publicKey;
    private static CompressedServerKey compressedServerKey;

    private TestKeys() {}

    private static synchronized void init() {
        if (clientKey == null) {
            clientKey = ClientKey.generate(FheConfig.defaults());
            publicKey = clientKey.compactPublicKey();
            compressedServerKey = clientKey.compressedServerKey();
            serverKey = compressedServerKey.decompress();
        }
    }

    static ClientKey client() {
        init();
        return clientKey;
    }

    static ServerKey server() {
        init();
        return serverKey;
    }

    static CompactPublicKey publicKey() {
        init();
        return publicKey;
    }

    static CompressedServerKey compressedServer() {
        init();
        return compressedServerKey;
    }
}

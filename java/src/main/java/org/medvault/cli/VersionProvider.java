package org.medvault.cli;

import org.medvault.app.Version;
import org.medvault.fhe.FheRuntime;

import picocli.CommandLine.IVersionProvider;

/** {@code medvault --version}: MedVault, the native library, TFHE-rs and the parameter set. */
public final class VersionProvider implements IVersionProvider {
    @Override
    public String[] getVersion() {
        return new String[] {"medvault " + Version.get(), FheRuntime.nativeVersion(),
            "Java " + System.getProperty("java.version") + " on " + System.getProperty("os.name") + " "
                + System.getProperty("os.arch")};
    }
}

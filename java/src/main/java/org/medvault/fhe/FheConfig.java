package org.medvault.fhe;

/**
 * Key configuration. The parameters are always TFHE-rs's secure CPU defaults
 * ({@value #PARAMETER_SET}, failure probability at most 2^-128); only optional features vary.
 *
 * @param compression    adds compression keys (compact storage of computed results)
 * @param noiseSquashing adds the noise-squashing key needed for threshold decryption
 */
public record FheConfig(boolean compression, boolean noiseSquashing) {
    public static final String PARAMETER_SET = "PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128";

    /** Secure defaults, no optional features. */
    public static FheConfig defaults() {
        return new FheConfig(false, false);
    }

    public FheConfig withCompression(boolean enabled) {
        return new FheConfig(enabled, noiseSquashing);
    }

    public FheConfig withNoiseSquashing(boolean enabled) {
        return new FheConfig(compression, enabled);
    }

    public String parameterSet() {
        return PARAMETER_SET;
    }

    static FheConfig fromBits(int bits) {
        return new FheConfig((bits & 1) != 0, (bits & 2) != 0);
    }
}

package org.medvault.app.keys;

import java.nio.CharBuffer;
import java.security.SecureRandom;
import java.util.List;
import java.util.Locale;

import org.medvault.common.UserException;

import com.nulabinc.zxcvbn.Strength;
import com.nulabinc.zxcvbn.Zxcvbn;

/**
 * The strength of a new passphrase, estimated with zxcvbn (Dropbox's estimator, Java port): the
 * number of guesses an attacker who knows common passwords, words, names, dates, keyboard
 * patterns and substitutions needs. A sealed key file can be attacked offline, so a new
 * passphrase needs score 3 of 4 (at least 10^8 guesses; each costs one Argon2id run of 64 MiB).
 */
public final class PassphraseStrength {
    public static final int MIN_SCORE = 3;
    /** Generated passphrases: 6 groups of 5 characters from 32 unambiguous ones = 150 bits. */
    private static final String ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789";

    private PassphraseStrength() {}

    /** zxcvbn's verdict: score 0..4, log10 of the guesses needed, and its advice (never the passphrase). */
    public record Verdict(int score, double guessesLog10, String warning, List<String> suggestions) {
        public boolean strong() {
            return score >= MIN_SCORE;
        }
    }

    public static Verdict measure(char[] passphrase) {
        Strength s = new Zxcvbn().measure(CharBuffer.wrap(passphrase));
        String warning = s.getFeedback().getWarning(Locale.ENGLISH);
        return new Verdict(s.getScore(), s.getGuessesLog10(), warning == null ? "" : warning,
                s.getFeedback().getSuggestions(Locale.ENGLISH));
    }

    /**
     * Refuses a weak new passphrase (unless {@code allowWeak}, then only warns), saying why.
     *
     * @param whose how messages name it ("the passphrase of client.key")
     */
    public static void require(char[] passphrase, String whose, boolean allowWeak, java.util.function.Consumer<String> warn) {
        Verdict v = measure(passphrase);
        if (v.strong()) {
            return;
        }
        String why = String.format(Locale.ROOT, "%s is weak: zxcvbn score %d of 4, about 10^%.0f guesses%s", whose, v.score(),
                v.guessesLog10(), v.warning().isEmpty() ? "" : " (" + v.warning().replaceAll("\\.$", "") + ")");
        if (allowWeak) {
            warn.accept("warning: " + why + "; used anyway (--allow-weak-passphrase)");
            return;
        }
        throw new UserException(why + "; a key file can be attacked offline, so nothing was written. Use several unrelated"
                + " words, or --generate-passphrase FILE for a random one (--allow-weak-passphrase to insist)");
    }

    /** A random passphrase: 6 groups of 5 characters ("k3mxq-…"), 150 bits from SecureRandom. */
    public static char[] generate() {
        SecureRandom rnd = new SecureRandom();
        char[] out = new char[6 * 5 + 5];
        int o = 0;
        for (int g = 0; g < 6; g++) {
            if (g > 0) {
                out[o++] = '-';
            }
            for (int i = 0; i < 5; i++) {
                out[o++] = ALPHABET.charAt(rnd.nextInt(ALPHABET.length()));
            }
        }
        return out;
    }
}

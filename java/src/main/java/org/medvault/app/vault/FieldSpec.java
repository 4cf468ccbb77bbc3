package org.medvault.app.vault;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.List;
import java.util.Locale;

import org.medvault.fhe.FheType;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One schema field and its codec: the clear value as written in the input (its own units: years,
 * "32.1", an ICD-10 code) to and from the unsigned integer that is encrypted.
 *
 * <ul>
 *   <li>{@code uint}: integer in [min, max], stored as is;</li>
 *   <li>{@code decimal}: fixed point with {@code scale} decimals, stored as value × 10^scale;</li>
 *   <li>{@code category}: one of a closed list of codes, stored as its index in the list;</li>
 *   <li>{@code bool}: true/false (also 1/0, yes/no).</li>
 * </ul>
 * Numeric fields also store x² (so variance needs no multiplication at query time).
 */
public final class FieldSpec {
    public enum Kind { UINT, DECIMAL, CATEGORY, BOOL }

    /** A value the codec refuses, with the reason in the user's terms. */
    public static final class ValueException extends Exception {
        private static final long serialVersionUID = 1L;

        ValueException(String message) {
            super(message);
        }
    }

    private final String name;
    private final Kind kind;
    private final boolean required;
    private final String defaultValue;
    private final boolean round;
    private final int scale;
    private final long min;
    private final long max;
    private final List<String> codes;
    private final boolean square;
    private final JsonNode fhir;

    FieldSpec(String name, Kind kind, boolean required, String defaultValue, boolean round, int scale, long min, long max,
              List<String> codes, boolean square, JsonNode fhir) {
        this.name = name;
        this.kind = kind;
        this.required = required;
        this.defaultValue = defaultValue;
        this.round = round;
        this.scale = scale;
        this.min = min;
        this.max = max;
        this.codes = codes;
        this.square = square;
        this.fhir = fhir;
    }

    public String name() {
        return name;
    }

    public Kind kind() {
        return kind;
    }

    public boolean required() {
        return required;
    }

    public int scale() {
        return scale;
    }

    /** Smallest stored value (decimals: already scaled). */
    public long min() {
        return min;
    }

    /** Largest stored value (decimals: already scaled; categories: last index). */
    public long max() {
        return max;
    }

    public List<String> codes() {
        return codes;
    }

    public JsonNode fhir() {
        return fhir;
    }

    public boolean isNumeric() {
        return kind == Kind.UINT || kind == Kind.DECIMAL;
    }

    public boolean hasSquare() {
        return square && isNumeric();
    }

    /** The encrypted type of the value: the smallest width that holds the range. */
    public FheType<?> storedType() {
        return kind == Kind.BOOL ? FheType.BOOL : FheType.smallestUintFor(max);
    }

    /** The encrypted type of x² (null when not stored). */
    public FheType<?> squareType() {
        if (!hasSquare()) {
            return null;
        }
        return FheType.smallestUintFor(max * max); // the schema caps max at 2^32-1 for squared fields
    }

    /** Encrypted blocks (2 bits each) that one record spends on this field. */
    public int blocks() {
        int b = blocksOf(storedType());
        return hasSquare() ? b + blocksOf(squareType()) : b;
    }

    private static int blocksOf(FheType<?> t) {
        return t == FheType.BOOL ? 1 : t.bits() / 2;
    }

    /**
     * Encodes a raw input cell (null or blank = empty) into the stored unsigned value.
     *
     * @throws ValueException with a reason naming the rule that was broken
     */
    public long encode(String raw) throws ValueException {
        String v = raw == null ? "" : raw.strip();
        if (v.isEmpty()) {
            if (defaultValue != null) {
                v = defaultValue;
            } else {
                throw new ValueException(required ? "empty, but the field is required" : "empty and no default is declared");
            }
        }
        switch (kind) {
            case BOOL -> {
                return switch (v.toLowerCase(Locale.ROOT)) {
                    case "true", "1", "yes", "y", "t" -> 1;
                    case "false", "0", "no", "n", "f" -> 0;
                    default -> throw new ValueException("'" + v + "' is not a boolean (true/false, 1/0, yes/no)");
                };
            }
            case CATEGORY -> {
                int i = codes.indexOf(v);
                if (i < 0) {
                    throw new ValueException("unknown code '" + v + "' (allowed: " + abbreviate(codes) + ")");
                }
                return i;
            }
            case UINT, DECIMAL -> {
                BigDecimal d;
                try {
                    d = new BigDecimal(v);
                } catch (NumberFormatException e) {
                    throw new ValueException("'" + v + "' is not a number");
                }
                BigDecimal scaled = d.movePointRight(scale);
                if (scaled.stripTrailingZeros().scale() > 0) {
                    if (!round) {
                        throw new ValueException("'" + v + "' has more than " + scale + " decimal"
                                + (scale == 1 ? "" : "s") + (kind == Kind.UINT ? " (an integer is expected)" : "")
                                + "; the schema does not allow rounding");
                    }
                    scaled = scaled.setScale(0, RoundingMode.HALF_EVEN);
                }
                if (scaled.compareTo(BigDecimal.valueOf(min)) < 0 || scaled.compareTo(BigDecimal.valueOf(max)) > 0) {
                    throw new ValueException("'" + v + "' is out of range [" + display(min) + ", " + display(max) + "]");
                }
                return scaled.longValueExact();
            }
            default -> throw new IllegalStateException(kind.toString());
        }
    }

    /** The clear value in the field's own units, for display and for query constants. */
    public String display(long stored) {
        return switch (kind) {
            case BOOL -> stored != 0 ? "true" : "false";
            case CATEGORY -> stored >= 0 && stored < codes.size() ? codes.get((int) stored) : "#" + stored;
            case UINT -> Long.toString(stored);
            case DECIMAL -> BigDecimal.valueOf(stored, scale).toPlainString();
        };
    }

    public String describe() {
        return switch (kind) {
            case BOOL -> "bool";
            case CATEGORY -> "category (" + codes.size() + " codes)";
            case UINT -> "uint [" + display(min) + ", " + display(max) + "]";
            case DECIMAL -> "decimal(" + scale + ") [" + display(min) + ", " + display(max) + "]";
        };
    }

    private static String abbreviate(List<String> codes) {
        return codes.size() <= 12 ? String.join(", ", codes)
                : String.join(", ", codes.subList(0, 12)) + ", … (" + codes.size() + " codes)";
    }
}

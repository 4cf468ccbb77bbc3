package org.medvault.app.fhir;

import java.io.InputStream;
import java.math.BigDecimal;
import java.math.MathContext;

import org.fhir.ucum.Decimal;
import org.fhir.ucum.UcumEssenceService;
import org.fhir.ucum.UcumException;
import org.fhir.ucum.UcumService;

/**
 * UCUM unit conversion with the FHIR community's UCUM library (its bundled ucum-essence.xml), plus
 * mass ↔ amount-of-substance concentrations through a declared molar mass (mg/dL ↔ mmol/L).
 */
final class Units {
    private static final MathContext MC = MathContext.DECIMAL128;
    private static volatile UcumService service;

    private Units() {}

    /** A conversion that cannot be done, in the user's terms. */
    static final class UnitException extends Exception {
        private static final long serialVersionUID = 1L;

        UnitException(String message) {
            super(message);
        }
    }

    private static UcumService ucum() {
        UcumService s = service;
        if (s == null) {
            synchronized (Units.class) {
                s = service;
                if (s == null) {
                    try (InputStream in = UcumEssenceService.class.getResourceAsStream("/ucum-essence.xml")) {
                        s = new UcumEssenceService(in);
                    } catch (Exception e) {
                        throw new IllegalStateException("the UCUM definitions (ucum-essence.xml) cannot be loaded", e);
                    }
                    service = s;
                }
            }
        }
        return s;
    }

    /** Null when {@code unit} is a valid UCUM expression, else why not. */
    static String invalid(String unit) {
        return ucum().validate(unit);
    }

    /**
     * {@code value} in {@code from} expressed in {@code to}. {@code molarMass} (g/mol, may be null)
     * bridges mass and substance concentrations.
     */
    static BigDecimal convert(BigDecimal value, String from, String to, BigDecimal molarMass) throws UnitException {
        if (from.equals(to)) {
            return value;
        }
        for (String u : new String[] {from, to}) {
            String why = invalid(u);
            if (why != null) {
                throw new UnitException("'" + u + "' is not a UCUM unit (" + why + ")");
            }
        }
        try {
            if (ucum().isComparable(from, to)) {
                return ucumConvert(value, from, to);
            }
            if (molarMass != null) {
                if (ucum().isComparable(from, "g/L") && ucum().isComparable(to, "mol/L")) {
                    BigDecimal gPerL = ucumConvert(value, from, "g/L");
                    return ucumConvert(gPerL.divide(molarMass, MC), "mol/L", to);
                }
                if (ucum().isComparable(from, "mol/L") && ucum().isComparable(to, "g/L")) {
                    BigDecimal molPerL = ucumConvert(value, from, "mol/L");
                    return ucumConvert(molPerL.multiply(molarMass, MC), "g/L", to);
                }
            }
        } catch (UcumException e) {
            throw new UnitException("cannot convert " + from + " to " + to + " (" + e.getMessage() + ")");
        }
        throw new UnitException("cannot convert " + from + " to " + to
                + (molarMass == null && (comparable(from, "g/L") || comparable(from, "mol/L"))
                        ? " (a mass and a substance concentration: declare \"molarMass\" in the field's mapping)" : ""));
    }

    private static boolean comparable(String a, String b) {
        try {
            return ucum().isComparable(a, b);
        } catch (UcumException e) {
            return false;
        }
    }

    private static BigDecimal ucumConvert(BigDecimal value, String from, String to) throws UcumException {
        if (from.equals(to)) {
            return value;
        }
        Decimal out = ucum().convert(new Decimal(value.toPlainString(), 40), from, to);
        return new BigDecimal(out.asDecimal());
    }
}

package org.medvault.app.fhir;

import java.math.BigDecimal;
import java.math.MathContext;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.Period;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.hl7.fhir.r4.model.BaseDateTimeType;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Condition;
import org.hl7.fhir.r4.model.Identifier;
import org.hl7.fhir.r4.model.IntegerType;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Quantity;
import org.hl7.fhir.r4.model.Type;
import org.medvault.app.fhir.FhirInputs.Item;
import org.medvault.app.fhir.FhirInputs.Origin;
import org.medvault.app.fhir.FhirInputs.PatientData;
import org.medvault.common.UserException;
import org.medvault.schema.FieldSpec;
import org.medvault.schema.VaultSchema;

import com.fasterxml.jackson.databind.JsonNode;

import ca.uhn.fhir.util.FhirTerser;

/**
 * Maps FHIR R4 patients to schema values, one record per Patient, by each field's {@code "fhir"}
 * rule. The rules (stated for users in the README):
 * <ul>
 *   <li><b>Patient</b> {@code {"element":"gender","map":{…}}}, {@code {"element":"age"}} (whole years
 *       from birthDate at {@code asOf}), or any element path ({@code "maritalStatus.coding.code"}).</li>
 *   <li><b>Observation</b> {@code {"loinc": "2339-0" | [...], "unit", "molarMass", "choose":
 *       "latest"|"earliest"|"mean", "last": N, "missing": "default", "map"}}: results with status
 *       final/amended/corrected, in the code or a component, dated by effectiveDateTime,
 *       effectivePeriod (end, else start), effectiveInstant or issued, compared as instants, on or
 *       before {@code asOf}. {@code valueString}, {@code dataAbsentReason} and quantities with a
 *       comparator are no result. Quantities are converted to the field's unit (UCUM).</li>
 *   <li><b>Condition</b> {@code {"icd10": true | [codes], "snomed": {code: fieldCode} | [codes],
 *       "rank": [...], "otherwise", "verification": [...], "unknownSystems": "ignore"}}: counted when
 *       clinicalStatus is active/recurrence/relapse (or absent without an abatement), verification is
 *       confirmed (or absent, or listed), onset on or before {@code asOf}. ICD-10 codes roll up
 *       (N18.31 → N18.3 → N18); SNOMED CT by the declared codes. A category takes the best-ranked
 *       match; a flag is true when any counted Condition matches.</li>
 * </ul>
 * Every problem of a patient is reported (field, resource, what was found), not only the first.
 */
public final class FhirMapper {
    static final String LOINC = "http://loinc.org";
    static final String SNOMED = "http://snomed.info/sct";
    static final Set<String> ICD10 = Set.of("http://hl7.org/fhir/sid/icd-10-cm", "http://hl7.org/fhir/sid/icd-10");
    private static final Set<String> COUNTED_OBSERVATION = Set.of("final", "amended", "corrected");
    private static final Set<String> ACTIVE = Set.of("active", "recurrence", "relapse");
    private static final Set<String> NEVER_VERIFIED = Set.of("refuted", "entered-in-error");

    /** A problem with one field (or, when {@code field} is null, the whole patient). */
    public record Problem(String field, String reason) {}

    /**
     * One patient's values by field name (null = no value; the schema's default applies), the fields
     * left empty by an opted-in {@code "missing": "default"}, and every problem found.
     */
    public record MappedPatient(Origin origin, String patient, String id, Map<String, String> cells, List<Problem> problems) {}

    private final VaultSchema schema;
    private final List<Rule> rules = new ArrayList<>();
    private final FhirTerser terser = new FhirTerser(ca.uhn.fhir.context.FhirContext.forR4Cached());
    private final String idSystem;

    /** Parses and checks every field's mapping; a bad mapping is refused naming the field. */
    public FhirMapper(VaultSchema schema, String where) {
        this.schema = schema;
        JsonNode top = schema.fhir();
        LocalDate asOf = top == null || !top.hasNonNull("asOf") ? null : date(top.get("asOf").asText(), where + ": \"fhir\".asOf");
        this.idSystem = top == null || !top.hasNonNull("idSystem") ? null : top.get("idSystem").asText();
        for (FieldSpec f : schema.fields()) {
            rules.add(Rule.parse(f, asOf, where + ": field '" + f.name() + "'"));
        }
    }

    public List<MappedPatient> map(FhirInputs in) {
        List<MappedPatient> out = new ArrayList<>();
        for (PatientData p : in.patients()) {
            out.add(map(p));
        }
        return out;
    }

    MappedPatient map(PatientData p) {
        Map<String, String> cells = new LinkedHashMap<>();
        List<Problem> problems = new ArrayList<>();
        String id = recordId(p.patient());
        if (id == null) {
            problems.add(new Problem(null, idSystem != null ? "no identifier with system " + idSystem
                    : "no id and no fullUrl to name the record by"));
        }
        for (Rule r : rules) {
            try {
                cells.put(r.field.name(), r.value(this, p));
            } catch (FieldProblem e) {
                cells.put(r.field.name(), null);
                problems.add(new Problem(r.field.name(), e.getMessage()));
            }
        }
        return new MappedPatient(p.patient().origin(), p.patient().name(), id, cells, problems);
    }

    private String recordId(Item<Patient> item) {
        Patient p = item.resource();
        if (idSystem != null) {
            for (Identifier i : p.getIdentifier()) {
                if (idSystem.equals(i.getSystem()) && i.hasValue()) {
                    return i.getValue();
                }
            }
            return null;
        }
        if (p.hasIdElement() && p.getIdElement().hasIdPart()) {
            return p.getIdElement().getIdPart();
        }
        String name = item.name(); // "Patient urn:uuid:…" for an entry without id
        int sp = name.indexOf(' ');
        if (name.startsWith("Patient ") && sp > 0) {
            String url = name.substring(sp + 1);
            return url.startsWith("urn:uuid:") ? url.substring(9) : url.startsWith("urn:oid:") ? url.substring(8) : url;
        }
        return null;
    }

    /** A field that cannot be given a value for this patient. */
    static final class FieldProblem extends Exception {
        private static final long serialVersionUID = 1L;

        FieldProblem(String message) {
            super(message);
        }
    }

    // ------------------------------------------------------------------ rules

    private abstract static class Rule {
        final FieldSpec field;
        final LocalDate asOf;
        final Instant cutoff; // first instant after asOf (exclusive bound), null = none

        Rule(FieldSpec field, LocalDate asOf) {
            this.field = field;
            this.asOf = asOf;
            this.cutoff = asOf == null ? null : asOf.plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant();
        }

        abstract String value(FhirMapper m, PatientData p) throws FieldProblem;

        static Rule parse(FieldSpec f, LocalDate schemaAsOf, String where) {
            JsonNode m = f.fhir();
            if (m == null || !m.isObject()) {
                throw new UserException(where + ": no \"fhir\" mapping (every field needs one to import FHIR)");
            }
            LocalDate asOf = m.hasNonNull("asOf") ? date(m.get("asOf").asText(), where + ": \"asOf\"") : schemaAsOf;
            String resource = m.path("resource").asText("");
            return switch (resource) {
                case "Patient" -> new PatientRule(f, asOf, m, where);
                case "Observation" -> new ObservationRule(f, asOf, m, where);
                case "Condition" -> new ConditionRule(f, asOf, m, where);
                default -> throw new UserException(where + ": \"fhir\".resource must be Patient, Observation or Condition, not '"
                        + resource + "'");
            };
        }

        static Map<String, String> map(JsonNode m, FieldSpec f, String where) {
            JsonNode map = m.get("map");
            if (map == null) {
                return null;
            }
            if (!map.isObject()) {
                throw new UserException(where + ": \"map\" must be an object of code → value");
            }
            Map<String, String> out = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> e = it.next();
                String v = e.getValue().asText();
                try {
                    f.storedValueOf(v);
                } catch (FieldSpec.ValueException ex) {
                    throw new UserException(where + ": \"map\" sends '" + e.getKey() + "' to '" + v + "': " + ex.getMessage());
                }
                out.put(e.getKey(), v);
            }
            return out;
        }

        static List<String> strings(JsonNode n, String where, String key) {
            List<String> out = new ArrayList<>();
            if (n.isTextual()) {
                out.add(n.asText());
            } else if (n.isArray()) {
                for (JsonNode x : n) {
                    if (!x.isTextual() || x.asText().isBlank()) {
                        throw new UserException(where + ": \"" + key + "\" must list codes as strings");
                    }
                    out.add(x.asText());
                }
            }
            if (out.isEmpty()) {
                throw new UserException(where + ": \"" + key + "\" must be a code or a non-empty list of codes");
            }
            return out;
        }
    }

    private static final class PatientRule extends Rule {
        final String element;
        final Map<String, String> map;

        PatientRule(FieldSpec f, LocalDate asOf, JsonNode m, String where) {
            super(f, asOf);
            this.element = m.path("element").asText("");
            if (element.isBlank()) {
                throw new UserException(where + ": a Patient mapping needs \"element\" (e.g. \"gender\", \"age\")");
            }
            this.map = map(m, f, where);
        }

        @Override
        String value(FhirMapper m, PatientData p) throws FieldProblem {
            Patient pt = p.patient().resource();
            if (element.equals("age")) {
                if (!pt.hasBirthDateElement() || pt.getBirthDateElement().getValueAsString() == null) {
                    throw new FieldProblem("no birthDate on " + p.patient().name());
                }
                String birth = pt.getBirthDateElement().getValueAsString();
                LocalDate at = asOf != null ? asOf : LocalDate.now(ZoneOffset.UTC);
                LocalDate born = birth.length() == 4 ? LocalDate.parse(birth + "-07-01")
                        : birth.length() == 7 ? LocalDate.parse(birth + "-15") : LocalDate.parse(birth.substring(0, 10));
                int years = Period.between(born, at).getYears();
                if (born.isAfter(at)) {
                    throw new FieldProblem("birthDate " + birth + " is after " + at);
                }
                return Integer.toString(years);
            }
            String v;
            try {
                v = m.terser.getSinglePrimitiveValueOrNull(pt, element);
            } catch (RuntimeException e) {
                throw new FieldProblem("element '" + element + "' cannot be read from a Patient (" + e.getMessage() + ")");
            }
            if (v == null) {
                return null;
            }
            if (map == null) {
                return v;
            }
            String to = map.get(v);
            if (to == null) {
                throw new FieldProblem(p.patient().name() + " has " + element + " '" + v + "', which the mapping's \"map\" lacks");
            }
            return to;
        }
    }

    /** One usable observation result: when, what, from where. */
    private record Result(Instant at, String value, Item<Observation> from) {}

    private static final class ObservationRule extends Rule {
        final Set<String> loinc;
        final String unit;
        final BigDecimal molarMass;
        final Map<String, String> map;
        final String choose;
        final int last;
        final boolean missingDefault;

        ObservationRule(FieldSpec f, LocalDate asOf, JsonNode m, String where) {
            super(f, asOf);
            if (!m.has("loinc")) {
                throw new UserException(where + ": an Observation mapping needs \"loinc\" (a code or a list)");
            }
            this.loinc = new LinkedHashSet<>(strings(m.get("loinc"), where, "loinc"));
            this.unit = m.hasNonNull("unit") ? m.get("unit").asText() : f.unit();
            if (unit != null && f.isNumeric() && Units.invalid(unit) != null) {
                throw new UserException(where + ": unit '" + unit + "' is not a UCUM unit (" + Units.invalid(unit) + ")");
            }
            if (m.hasNonNull("molarMass")) {
                try {
                    this.molarMass = new BigDecimal(m.get("molarMass").asText());
                } catch (NumberFormatException e) {
                    throw new UserException(where + ": \"molarMass\" must be a number (g/mol)");
                }
                if (molarMass.signum() <= 0) {
                    throw new UserException(where + ": \"molarMass\" must be positive (g/mol)");
                }
            } else {
                this.molarMass = null;
            }
            this.map = map(m, f, where);
            this.choose = m.path("choose").asText("latest");
            if (!Set.of("latest", "earliest", "mean").contains(choose)) {
                throw new UserException(where + ": \"choose\" must be latest, earliest or mean, not '" + choose + "'");
            }
            if (choose.equals("mean") && !f.isNumeric()) {
                throw new UserException(where + ": \"choose\": \"mean\" needs a numeric field");
            }
            this.last = m.has("last") ? m.get("last").asInt(0) : 3;
            if (last < 1 || last > 1000) {
                throw new UserException(where + ": \"last\" must be between 1 and 1000");
            }
            String missing = m.path("missing").asText("error");
            if (!missing.equals("error") && !missing.equals("default")) {
                throw new UserException(where + ": \"missing\" must be \"error\" or \"default\"");
            }
            if (missing.equals("default") && f.defaultValue() == null) {
                throw new UserException(where + ": \"missing\": \"default\" needs a \"default\" on the field");
            }
            this.missingDefault = missing.equals("default");
        }

        private String codes() {
            return "LOINC " + String.join(" or ", loinc);
        }

        @Override
        String value(FhirMapper m, PatientData p) throws FieldProblem {
            List<Result> usable = new ArrayList<>();
            List<String> unusable = new ArrayList<>();
            int later = 0;
            for (Item<Observation> item : p.observations()) {
                Observation o = item.resource();
                String status = o.hasStatus() ? o.getStatus().toCode() : "unknown";
                if (!COUNTED_OBSERVATION.contains(status)) {
                    continue;
                }
                List<Type> values = new ArrayList<>();
                boolean absent = false;
                if (matches(o.getCode())) {
                    values.add(o.getValue());
                    absent = o.hasDataAbsentReason();
                }
                for (Observation.ObservationComponentComponent c : o.getComponent()) {
                    if (matches(c.getCode())) {
                        values.add(c.getValue());
                        absent |= c.hasDataAbsentReason();
                    }
                }
                if (values.isEmpty()) {
                    continue;
                }
                Instant at = effective(o, item);
                if (cutoff != null && !at.isBefore(cutoff)) {
                    later++;
                    continue;
                }
                for (Type v : values) {
                    String why = absent && (v == null || v.isEmpty()) ? "a dataAbsentReason" : null;
                    String value = null;
                    if (why == null) {
                        Object r = read(v, item);
                        if (r instanceof String s) {
                            value = s;
                        } else {
                            why = (String) ((Object[]) r)[0];
                        }
                    }
                    if (value == null) {
                        unusable.add(item.name() + " (" + item.origin().file().getFileName() + " " + item.origin().describe()
                                + ") has " + why);
                    } else {
                        usable.add(new Result(at, value, item));
                    }
                }
            }
            if (usable.isEmpty()) {
                if (missingDefault) {
                    return null;
                }
                StringBuilder sb = new StringBuilder("no usable result with " + codes());
                if (!unusable.isEmpty()) {
                    sb.append(": ").append(String.join("; ", unusable.subList(0, Math.min(3, unusable.size()))));
                }
                if (later > 0) {
                    sb.append(unusable.isEmpty() ? ": " : "; ").append(later).append(" dated after asOf ").append(asOf);
                }
                throw new FieldProblem(sb.toString());
            }
            usable.sort(Comparator.comparing(Result::at));
            return switch (choose) {
                case "latest" -> single(usable, usable.size() - 1);
                case "earliest" -> single(usable, 0);
                default -> mean(usable);
            };
        }

        /** The result at index {@code i}, refusing a different value at the same instant. */
        private static String single(List<Result> sorted, int i) throws FieldProblem {
            Result r = sorted.get(i);
            for (Result o : sorted) {
                if (o != r && o.at().equals(r.at()) && !same(o.value(), r.value())) {
                    throw new FieldProblem("two results at " + r.at() + " disagree: " + o.value() + " (" + o.from().name()
                            + ") and " + r.value() + " (" + r.from().name() + ")");
                }
            }
            return r.value();
        }

        private static boolean same(String a, String b) {
            try {
                return new BigDecimal(a).compareTo(new BigDecimal(b)) == 0;
            } catch (NumberFormatException e) {
                return a.equals(b);
            }
        }

        private String mean(List<Result> sorted) {
            List<Result> tail = sorted.subList(Math.max(0, sorted.size() - last), sorted.size());
            BigDecimal sum = BigDecimal.ZERO;
            for (Result r : tail) {
                sum = sum.add(new BigDecimal(r.value()));
            }
            return sum.divide(BigDecimal.valueOf(tail.size()), MathContext.DECIMAL64).stripTrailingZeros().toPlainString();
        }

        private boolean matches(CodeableConcept cc) {
            for (Coding c : cc.getCoding()) {
                if (LOINC.equals(c.getSystem()) && loinc.contains(c.getCode())) {
                    return true;
                }
            }
            return false;
        }

        /** The value in the field's terms (a String), or {reason} when the result carries none. */
        private Object read(Type v, Item<Observation> item) throws FieldProblem {
            if (v == null || v.isEmpty()) {
                return new Object[] {"no value"};
            }
            if (v instanceof Quantity q) {
                if (!field.isNumeric()) {
                    return new Object[] {"a quantity where the field '" + field.name() + "' expects a code"};
                }
                if (q.hasComparator()) {
                    return new Object[] {"a bound, not a value (" + q.getComparator().toCode() + " " + q.getValue() + ")"};
                }
                if (!q.hasValue()) {
                    return new Object[] {"a quantity without a value"};
                }
                return convert(q, item);
            }
            if (v instanceof IntegerType i && field.isNumeric()) {
                if (unit != null && !unit.equals("1")) {
                    throw new FieldProblem(item.name() + " has the integer " + i.getValue() + " without a unit; the field is in " + unit);
                }
                return i.getValue().toString();
            }
            if (v instanceof CodeableConcept cc) {
                if (map == null) {
                    return new Object[] {"a coded value (" + describe(cc) + ") where a " + (field.isNumeric() ? "number" : "value")
                            + " is expected (declare a \"map\")"};
                }
                for (Coding c : cc.getCoding()) {
                    String to = map.get(c.getCode());
                    if (to != null) {
                        return to;
                    }
                }
                throw new FieldProblem(item.name() + " has " + describe(cc) + ", which the mapping's \"map\" lacks");
            }
            if (v instanceof org.hl7.fhir.r4.model.BooleanType b && field.kind() == FieldSpec.Kind.BOOL) {
                return b.booleanValue() ? "true" : "false";
            }
            if (v instanceof org.hl7.fhir.r4.model.StringType s) {
                if (map != null && map.containsKey(s.getValue())) {
                    return map.get(s.getValue());
                }
                return new Object[] {"valueString '" + s.getValue() + "'"};
            }
            return new Object[] {"a value[x] of type " + v.fhirType()};
        }

        private String convert(Quantity q, Item<Observation> item) throws FieldProblem {
            String from = q.hasCode() ? q.getCode() : q.hasUnit() ? q.getUnit() : null;
            BigDecimal value = q.getValue();
            if (from == null) {
                if (unit == null || unit.equals("1")) {
                    return value.toPlainString();
                }
                throw new FieldProblem(item.name() + " has " + value.toPlainString() + " without a unit; the field is in " + unit);
            }
            if (unit == null) {
                if (from.equals("1")) {
                    return value.toPlainString();
                }
                throw new FieldProblem(item.name() + " is in " + from + ", but the schema names no unit for field '"
                        + field.name() + "' (add \"unit\")");
            }
            try {
                BigDecimal out = Units.convert(value, from, unit, molarMass);
                return out == value ? value.toPlainString() : out.stripTrailingZeros().toPlainString();
            } catch (Units.UnitException e) {
                throw new FieldProblem(item.name() + ": " + value.toPlainString() + " " + from + " → " + unit + ": " + e.getMessage());
            }
        }
    }

    private static String describe(CodeableConcept cc) {
        List<String> parts = new ArrayList<>();
        for (Coding c : cc.getCoding()) {
            parts.add((c.hasSystem() ? c.getSystem() + "|" : "") + c.getCode());
        }
        if (parts.isEmpty() && cc.hasText()) {
            parts.add("text '" + cc.getText() + "'");
        }
        return parts.isEmpty() ? "an empty code" : String.join(", ", parts);
    }

    private static final class ConditionRule extends Rule {
        final boolean icd10All;
        final List<String> icd10;       // flag: prefixes; category: null (all field codes)
        final Map<String, String> snomedMap;
        final Set<String> snomedCodes;
        final List<String> rank;
        final String otherwise;
        final Set<String> verification;
        final boolean ignoreUnknown;

        ConditionRule(FieldSpec f, LocalDate asOf, JsonNode m, String where) {
            super(f, asOf);
            boolean category = f.kind() == FieldSpec.Kind.CATEGORY;
            if (!category && f.kind() != FieldSpec.Kind.BOOL) {
                throw new UserException(where + ": a Condition mapping needs a category or bool field");
            }
            JsonNode icd = m.get("icd10");
            if (icd == null && m.hasNonNull("system")) { // the first mapping format: {"system": ICD-10-CM, "code"?}
                if (!ICD10.contains(m.get("system").asText())) {
                    throw new UserException(where + ": \"system\" " + m.get("system").asText() + " is not ICD-10; use \"icd10\""
                            + " or \"snomed\"");
                }
                icd = m.hasNonNull("code") ? m.get("code") : com.fasterxml.jackson.databind.node.BooleanNode.TRUE;
            }
            if (icd != null && icd.isBoolean()) {
                if (!category && icd.asBoolean()) {
                    throw new UserException(where + ": a flag needs the ICD-10 codes it stands for: \"icd10\": [\"E11\"]");
                }
                this.icd10All = icd.asBoolean();
                this.icd10 = List.of();
            } else if (icd != null) {
                if (category) {
                    throw new UserException(where + ": for a category, \"icd10\": true matches the field's codes");
                }
                this.icd10All = false;
                this.icd10 = strings(icd, where, "icd10");
            } else {
                this.icd10All = false;
                this.icd10 = List.of();
            }
            JsonNode sn = m.get("snomed");
            Map<String, String> smap = null;
            Set<String> scodes = Set.of();
            if (sn != null) {
                if (category) {
                    smap = map(new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode().set("map", sn), f, where);
                    if (smap == null || !sn.isObject()) {
                        throw new UserException(where + ": for a category, \"snomed\" maps SNOMED CT codes to the field's codes");
                    }
                } else {
                    scodes = new LinkedHashSet<>(strings(sn, where, "snomed"));
                }
            }
            this.snomedMap = smap;
            this.snomedCodes = scodes;
            if (!icd10All && icd10.isEmpty() && snomedMap == null && snomedCodes.isEmpty()) {
                throw new UserException(where + ": a Condition mapping needs \"icd10\" or \"snomed\"");
            }
            this.otherwise = m.hasNonNull("otherwise") ? m.get("otherwise").asText() : null;
            if (otherwise != null && (!category || !f.codes().contains(otherwise))) {
                throw new UserException(where + ": \"otherwise\" must be one of the field's codes");
            }
            List<String> r = new ArrayList<>();
            if (category) {
                if (m.has("rank")) {
                    r.addAll(strings(m.get("rank"), where, "rank"));
                    for (String c : r) {
                        if (!f.codes().contains(c)) {
                            throw new UserException(where + ": \"rank\" names '" + c + "', not one of the field's codes");
                        }
                    }
                }
                for (String c : f.codes()) { // unranked codes follow, in the schema's order
                    if (!r.contains(c) && !c.equals(otherwise)) {
                        r.add(c);
                    }
                }
            }
            this.rank = r;
            Set<String> ver = new LinkedHashSet<>(List.of("confirmed"));
            if (m.has("verification")) {
                ver = new LinkedHashSet<>(strings(m.get("verification"), where, "verification"));
                for (String v : ver) {
                    if (NEVER_VERIFIED.contains(v)) {
                        throw new UserException(where + ": a " + v + " Condition is never counted");
                    }
                }
            }
            this.verification = ver;
            String unknown = m.path("unknownSystems").asText("error");
            if (!unknown.equals("error") && !unknown.equals("ignore")) {
                throw new UserException(where + ": \"unknownSystems\" must be \"error\" or \"ignore\"");
            }
            this.ignoreUnknown = unknown.equals("ignore");
        }

        private boolean readsIcd() {
            return icd10All || !icd10.isEmpty();
        }

        private boolean readsSnomed() {
            return snomedMap != null || !snomedCodes.isEmpty();
        }

        @Override
        String value(FhirMapper m, PatientData p) throws FieldProblem {
            Set<String> matched = new LinkedHashSet<>(); // category: field codes; flag: "true"
            List<String> unknown = new ArrayList<>();
            for (Item<Condition> item : p.conditions()) {
                Condition c = item.resource();
                if (!counted(c, item)) {
                    continue;
                }
                boolean known = false;
                for (Coding coding : c.getCode().getCoding()) {
                    String sys = coding.getSystem();
                    String code = coding.getCode();
                    if (code == null) {
                        continue;
                    }
                    if (sys != null && ICD10.contains(sys) && readsIcd()) {
                        known = true;
                        for (String up : rollUp(code)) {
                            if (field.kind() == FieldSpec.Kind.CATEGORY ? field.codes().contains(up) : icd10.contains(up)) {
                                matched.add(field.kind() == FieldSpec.Kind.CATEGORY ? up : "true");
                            }
                        }
                    } else if (SNOMED.equals(sys) && readsSnomed()) {
                        known = true;
                        if (snomedMap != null && snomedMap.containsKey(code)) {
                            matched.add(snomedMap.get(code));
                        } else if (snomedCodes.contains(code)) {
                            matched.add("true");
                        }
                    }
                }
                if (!known) {
                    unknown.add(item.name() + " (" + item.origin().file().getFileName() + " " + item.origin().describe() + ") is coded only as "
                            + describe(c.getCode()));
                }
            }
            if (!unknown.isEmpty() && !ignoreUnknown) {
                throw new FieldProblem("unknown code system: " + String.join("; ", unknown) + "; the mapping reads "
                        + (readsIcd() ? "ICD-10" + (readsSnomed() ? " and SNOMED CT" : "") : "SNOMED CT")
                        + " (map those codes, or set \"unknownSystems\": \"ignore\")");
            }
            if (field.kind() == FieldSpec.Kind.BOOL) {
                return matched.isEmpty() ? "false" : "true";
            }
            for (String c : rank) {
                if (matched.contains(c)) {
                    return c;
                }
            }
            return otherwise; // null → missing
        }

        /** Whether a Condition counts at asOf: clinically active, verified, begun, not abated. */
        private boolean counted(Condition c, Item<Condition> item) throws FieldProblem {
            String ver = firstCode(c.getVerificationStatus());
            if (ver != null && (NEVER_VERIFIED.contains(ver) || !verification.contains(ver))) {
                return false;
            }
            String clinical = firstCode(c.getClinicalStatus());
            if (clinical != null && !ACTIVE.contains(clinical)) {
                return false;
            }
            Instant onset = c.hasOnsetDateTimeType() ? instant(c.getOnsetDateTimeType(), item)
                    : c.hasOnsetPeriod() && c.getOnsetPeriod().hasStart() ? instant(c.getOnsetPeriod().getStartElement(), item)
                    : c.hasRecordedDateElement() ? instant(c.getRecordedDateElement(), item) : null;
            if (cutoff != null && onset != null && !onset.isBefore(cutoff)) {
                return false;
            }
            Instant abated = c.hasAbatementDateTimeType() ? instant(c.getAbatementDateTimeType(), item)
                    : c.hasAbatementPeriod() && c.getAbatementPeriod().hasEnd() ? instant(c.getAbatementPeriod().getEndElement(), item)
                    : null;
            return abated == null || (cutoff != null && !abated.isBefore(cutoff)); // abated after asOf: active then
        }

        private static String firstCode(CodeableConcept cc) {
            for (Coding c : cc.getCoding()) {
                if (c.hasCode()) {
                    return c.getCode();
                }
            }
            return null;
        }
    }

    /** An ICD-10 code and its ancestors: "N18.31" → N18.31, N18.3, N18 ("E119" is read as E11.9). */
    static List<String> rollUp(String code) {
        String c = code.strip().toUpperCase(java.util.Locale.ROOT);
        if (c.length() > 3 && c.indexOf('.') < 0) {
            c = c.substring(0, 3) + "." + c.substring(3);
        }
        List<String> out = new ArrayList<>();
        out.add(c);
        int dot = c.indexOf('.');
        if (dot > 0) {
            for (int end = c.length() - 1; end > dot; end--) {
                String up = c.substring(0, end);
                out.add(up.endsWith(".") ? up.substring(0, up.length() - 1) : up);
            }
        }
        return out.stream().distinct().toList();
    }

    // ------------------------------------------------------------------ time

    /** When an Observation was made: effective[x] (Period: end, else start), else issued. */
    static Instant effective(Observation o, Item<Observation> item) throws FieldProblem {
        if (o.hasEffectiveDateTimeType()) {
            return instant(o.getEffectiveDateTimeType(), item);
        }
        if (o.hasEffectivePeriod()) {
            org.hl7.fhir.r4.model.Period p = o.getEffectivePeriod();
            if (p.hasEnd()) {
                return instant(p.getEndElement(), item);
            }
            if (p.hasStart()) {
                return instant(p.getStartElement(), item);
            }
        }
        if (o.hasEffectiveInstantType()) {
            return instant(o.getEffectiveInstantType(), item);
        }
        if (o.hasIssuedElement()) {
            return instant(o.getIssuedElement(), item);
        }
        throw new FieldProblem(item.name() + " (" + item.origin().file().getFileName() + " " + item.origin().describe()
                + ") has no effective time and no issued time");
    }

    /**
     * A FHIR date/dateTime/instant as an instant: with its offset when it has one; a date without a
     * time is the start of that day (month: its first day; year: 1 January) in UTC.
     */
    static Instant instant(BaseDateTimeType t, Item<?> item) throws FieldProblem {
        String s = t.getValueAsString();
        if (s == null) {
            throw new FieldProblem(item.name() + " has an empty date");
        }
        try {
            if (s.length() == 4) {
                return LocalDate.of(Integer.parseInt(s), 1, 1).atStartOfDay(ZoneOffset.UTC).toInstant();
            }
            if (s.length() == 7) {
                return LocalDate.parse(s + "-01").atStartOfDay(ZoneOffset.UTC).toInstant();
            }
            if (s.length() == 10) {
                return LocalDate.parse(s).atStartOfDay(ZoneOffset.UTC).toInstant();
            }
            try {
                return OffsetDateTime.parse(s).toInstant();
            } catch (DateTimeParseException e) {
                return LocalDateTime.parse(s).toInstant(ZoneOffset.UTC); // no offset (not valid FHIR): read as UTC
            }
        } catch (DateTimeParseException | NumberFormatException e) {
            throw new FieldProblem(item.name() + " has the date '" + s + "', which is not a FHIR dateTime");
        }
    }

    static LocalDate date(String s, String where) {
        try {
            return LocalDate.parse(s);
        } catch (DateTimeParseException e) {
            throw new UserException(where + ": '" + s + "' is not a date (YYYY-MM-DD)");
        }
    }
}

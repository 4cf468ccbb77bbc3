package org.medvault.app.fhir;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Condition;
import org.hl7.fhir.r4.model.Identifier;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.medvault.app.TextFiles;
import org.medvault.common.UserException;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.parser.IParser;
import ca.uhn.fhir.parser.LenientErrorHandler;

/**
 * The FHIR R4 resources of one import, read with HAPI FHIR's R4 model from any number of files:
 * Bundles of every type (transaction, batch, collection, searchset, …; entries without {@code id}
 * are known by their {@code fullUrl}), single resources, and FHIR Bulk Data NDJSON (one resource per
 * line, one file per type). Observations and Conditions are joined to their Patient by reference
 * ({@code Patient/id}, {@code urn:uuid:…} fullUrls, absolute URLs, or a logical identifier).
 */
public final class FhirInputs {
    private static final FhirContext R4 = FhirContext.forR4Cached();

    /** Where a resource was read: a file and its Bundle entry (1-based) or NDJSON line. */
    public record Origin(Path file, long index, boolean line) {
        public String describe() {
            return (line ? "line " : "entry ") + index;
        }
    }

    /** A resource with its origin and the name errors use for it ("Observation/abc", "Observation urn:uuid:…"). */
    public record Item<T extends Resource>(T resource, Origin origin, String name) {}

    /** One Patient with the Observations and Conditions that refer to it. */
    public record PatientData(Item<Patient> patient, List<Item<Observation>> observations, List<Item<Condition>> conditions) {}

    private final List<PatientData> patients = new ArrayList<>();
    private final Map<String, PatientData> byKey = new HashMap<>();
    private final List<Item<? extends Resource>> pending = new ArrayList<>();
    private final Map<String, Integer> ignored = new TreeMap<>();
    private final List<Duplicate> duplicates = new ArrayList<>();
    private int unresolved;
    private long resources;

    private FhirInputs() {}

    /** Reads every file (each a Bundle, a resource or NDJSON) and joins resources to patients. */
    public static FhirInputs read(List<Path> files) {
        FhirInputs in = new FhirInputs();
        IParser parser = R4.newJsonParser();
        parser.setParserErrorHandler(new LenientErrorHandler(false).setErrorOnInvalidValue(true));
        parser.setOverrideResourceIdWithBundleEntryFullUrl(false);
        for (Path f : files) {
            in.readFile(parser, f);
        }
        in.join();
        return in;
    }

    public List<PatientData> patients() {
        return patients;
    }

    /** Observations and Conditions whose subject is no Patient of the input. */
    public int unresolved() {
        return unresolved;
    }

    /** Resources read, of every type. */
    public long resources() {
        return resources;
    }

    /** Resource types read but not used by any mapping, with their counts. */
    public Map<String, Integer> ignoredTypes() {
        return ignored;
    }

    /** A Patient read a second time (same id or fullUrl); the second is not read. */
    public record Duplicate(Item<Patient> again, Item<Patient> first) {}

    public List<Duplicate> duplicatePatients() {
        return duplicates;
    }

    static boolean isNdjson(Path file) {
        String n = file.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".ndjson") || n.endsWith(".jsonl");
    }

    private void readFile(IParser parser, Path file) {
        if (!Files.isRegularFile(file)) {
            throw new UserException(file + ": " + (Files.isDirectory(file) ? "is a directory" : "no such file"));
        }
        long lineNr = 0;
        try (BufferedReader r = TextFiles.utf8(file)) {
            if (isNdjson(file)) {
                String line;
                while ((line = r.readLine()) != null) {
                    lineNr++;
                    if (line.isBlank()) {
                        continue;
                    }
                    add(parse(parser, file, lineNr, line), file, lineNr, true, null);
                }
            } else {
                StringBuilder sb = new StringBuilder();
                char[] buf = new char[1 << 16];
                int n;
                while ((n = r.read(buf)) > 0) {
                    sb.append(buf, 0, n);
                }
                String text = sb.toString();
                if (text.isBlank()) {
                    throw new UserException(file + ": empty file (a FHIR Bundle or resource in JSON is expected)");
                }
                add(parse(parser, file, -1, text), file, 1, false, null);
            }
        } catch (TextFiles.NulInText e) {
            throw e.refusal(file);
        } catch (CharacterCodingException e) {
            throw new UserException(file + (lineNr > 0 ? ": line " + (lineNr + 1) : "") + ": not valid UTF-8 text");
        } catch (IOException e) {
            throw new UserException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static IBaseResource parse(IParser parser, Path file, long line, String text) {
        try {
            return parser.parseResource(text);
        } catch (DataFormatException e) {
            throw new UserException(file + (line > 0 ? ": line " + line : "") + ": not a FHIR R4 resource in JSON ("
                    + oneLine(e.getMessage()) + ")");
        } catch (RuntimeException e) { // HAPI's parser reports some malformed JSON this way
            throw new UserException(file + (line > 0 ? ": line " + line : "") + ": not a FHIR R4 resource in JSON ("
                    + oneLine(String.valueOf(e.getMessage())) + ")");
        }
    }

    private static String oneLine(String s) {
        s = s.replaceAll("^HAPI-\\d+: ", "");
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private void add(IBaseResource r, Path file, long index, boolean line, String fullUrl) {
        resources++;
        if (r instanceof Bundle b) {
            resources--; // the Bundle is a container; its entries count
            if (fullUrl != null) {
                return; // a Bundle inside a Bundle (e.g. a message's payload) is not read
            }
            int i = 0;
            for (Bundle.BundleEntryComponent e : b.getEntry()) {
                i++;
                if (e.getResource() != null) {
                    add(e.getResource(), file, line ? index : i, line, e.hasFullUrl() ? e.getFullUrl() : "");
                }
            }
            return;
        }
        Origin origin = new Origin(file, index, line);
        if (r instanceof Patient p) {
            addPatient(new Item<>(p, origin, name(p, fullUrl)), fullUrl);
        } else if (r instanceof Observation o) {
            pending.add(new Item<>(o, origin, name(o, fullUrl)));
        } else if (r instanceof Condition c) {
            pending.add(new Item<>(c, origin, name(c, fullUrl)));
        } else {
            ignored.merge(r.fhirType(), 1, Integer::sum);
        }
    }

    /** How errors name a resource: "Observation/abc", else "Observation urn:uuid:…", else "an Observation". */
    private static String name(Resource r, String fullUrl) {
        if (r.hasIdElement() && r.getIdElement().hasIdPart()) {
            return r.fhirType() + "/" + r.getIdElement().getIdPart();
        }
        if (fullUrl != null && !fullUrl.isEmpty()) {
            return r.fhirType() + " " + fullUrl;
        }
        return "a " + r.fhirType() + " without id";
    }

    private void addPatient(Item<Patient> item, String fullUrl) {
        Patient p = item.resource();
        List<String> keys = new ArrayList<>();
        if (p.hasIdElement() && p.getIdElement().hasIdPart()) {
            keys.add("Patient/" + p.getIdElement().getIdPart());
        }
        if (fullUrl != null && !fullUrl.isEmpty()) {
            keys.add(fullUrl);
        }
        for (Identifier id : p.getIdentifier()) {
            if (id.hasSystem() && id.hasValue()) {
                keys.add("identifier:" + id.getSystem() + "|" + id.getValue());
            }
        }
        for (String k : keys) {
            PatientData first = byKey.get(k);
            if (first != null && !k.startsWith("identifier:")) {
                duplicates.add(new Duplicate(item, first.patient()));
                return;
            }
        }
        PatientData d = new PatientData(item, new ArrayList<>(), new ArrayList<>());
        patients.add(d);
        for (String k : keys) {
            byKey.putIfAbsent(k, d);
        }
    }

    private void join() {
        for (Item<? extends Resource> item : pending) {
            Reference subject = item.resource() instanceof Observation o ? o.getSubject() : ((Condition) item.resource()).getSubject();
            PatientData p = resolve(subject);
            if (p == null) {
                unresolved++;
                continue;
            }
            if (item.resource() instanceof Observation) {
                @SuppressWarnings("unchecked")
                Item<Observation> o = (Item<Observation>) item;
                p.observations().add(o);
            } else {
                @SuppressWarnings("unchecked")
                Item<Condition> c = (Item<Condition>) item;
                p.conditions().add(c);
            }
        }
        pending.clear();
    }

    private PatientData resolve(Reference ref) {
        if (ref == null) {
            return null;
        }
        if (ref.hasReference()) {
            String s = ref.getReference();
            PatientData p = byKey.get(s);
            if (p != null) {
                return p;
            }
            if (!s.startsWith("urn:") && !s.startsWith("#")) {
                // "Patient/123", "Patient/123/_history/2" or "https://ehr.example/fhir/Patient/123"
                org.hl7.fhir.r4.model.IdType id = new org.hl7.fhir.r4.model.IdType(s);
                if (id.hasIdPart() && (!id.hasResourceType() || id.getResourceType().equals("Patient"))) {
                    p = byKey.get("Patient/" + id.getIdPart());
                    if (p != null) {
                        return p;
                    }
                }
            }
        }
        if (ref.hasIdentifier() && ref.getIdentifier().hasSystem() && ref.getIdentifier().hasValue()) {
            return byKey.get("identifier:" + ref.getIdentifier().getSystem() + "|" + ref.getIdentifier().getValue());
        }
        return null;
    }
}

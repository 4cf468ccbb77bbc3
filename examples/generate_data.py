#!/usr/bin/env python3
"""Generates MedVault's synthetic example data (no real patient), reproducibly (fixed seed).

    python3 examples/generate_data.py [--patients 300] [--fhir-patients 40] [--out examples]

Writes patients.csv and patients.jsonl (the same cohort), patients-fhir.json (a FHIR R4 Bundle
with Patient, Observation and Condition resources, LOINC and ICD-10 coded) and my-record.json (one
patient's own record). Values follow plausible joint distributions: blood pressure and glucose rise
with age and BMI, diabetics have higher HbA1c, and so on.
"""
import argparse
import csv
import json
import random
from datetime import date, timedelta

DIAGNOSES = ["none", "I10", "E11", "I25", "I48", "I50", "J44", "N18", "E78", "E66"]


def clamp(x, lo, hi):
    return max(lo, min(hi, x))


def patient(rng, i):
    age = int(clamp(rng.gauss(58, 17), 18, 99))
    sex = rng.choices(["1", "2", "9"], weights=[48, 50, 2])[0]
    bmi = round(clamp(rng.gauss(27.5, 5.0), 15.0, 55.0), 1)
    diabetic = rng.random() < clamp(0.03 + 0.004 * max(0, age - 30) + 0.02 * max(0, bmi - 27), 0, 0.6)
    smoker = rng.random() < (0.28 if age < 50 else 0.16)
    bp_sys = int(clamp(rng.gauss(112 + 0.45 * age + 0.6 * (bmi - 25), 14), 85, 230))
    bp_dia = int(clamp(rng.gauss(0.55 * bp_sys + 8, 7), 45, 130))
    glucose = round(clamp(rng.gauss(8.4 if diabetic else 5.3, 1.6 if diabetic else 0.6), 3.0, 25.0), 1)
    hba1c = round(clamp(rng.gauss(7.6 if diabetic else 5.4, 1.1 if diabetic else 0.35), 4.0, 14.0), 1)
    ldl = round(clamp(rng.gauss(3.1, 0.9), 0.8, 8.0), 2)  # two decimals: the schema rounds to one
    if diabetic:
        diagnosis = "E11"
    elif bp_sys >= 150:
        diagnosis = "I10"
    else:
        diagnosis = rng.choices(DIAGNOSES, weights=[40, 14, 0, 8, 5, 4, 6, 4, 10, 9])[0]
    row = {
        "patient_id": f"p{i:05d}", "age": age, "sex": sex, "bmi": bmi, "bp_sys": bp_sys, "bp_dia": bp_dia,
        "glucose": glucose, "hba1c": hba1c, "ldl": ldl, "diagnosis": diagnosis,
        "diabetic": "true" if diabetic else "false", "smoker": "true" if smoker else "false",
    }
    if rng.random() < 0.05:
        row["hba1c"] = ""  # not measured: the schema's default applies
    return row


def fhir_bundle(rows):
    entries = []
    gender = {"1": "male", "2": "female", "9": "unknown"}
    as_of = date(2026, 11, 1)

    def obs(pid, n, loinc, display, value, unit, when):
        return {"fullUrl": f"urn:uuid:obs-{pid}-{n}", "resource": {
            "resourceType": "Observation", "id": f"obs-{pid}-{n}", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": loinc, "display": display}]},
            "subject": {"reference": f"Patient/{pid}"}, "effectiveDateTime": when,
            "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}}}

    for r in rows:
        pid = r["patient_id"]
        born = as_of - timedelta(days=int(r["age"]) * 365 + 100)
        entries.append({"fullUrl": f"urn:uuid:{pid}", "resource": {
            "resourceType": "Patient", "id": pid, "gender": gender[r["sex"]], "birthDate": born.isoformat()}})
        when = "2026-10-15T09:30:00Z"
        entries.append(obs(pid, 1, "39156-5", "Body mass index", r["bmi"], "kg/m2", when))
        entries.append({"fullUrl": f"urn:uuid:obs-{pid}-2", "resource": {
            "resourceType": "Observation", "id": f"obs-{pid}-2", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9", "display": "Blood pressure panel"}]},
            "subject": {"reference": f"Patient/{pid}"}, "effectiveDateTime": when,
            "component": [
                {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                 "valueQuantity": {"value": r["bp_sys"], "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
                {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
                 "valueQuantity": {"value": r["bp_dia"], "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}]}})
        entries.append(obs(pid, 3, "15074-8", "Glucose", r["glucose"], "mmol/L", when))
        if r["hba1c"] != "":
            entries.append(obs(pid, 4, "4548-4", "Hemoglobin A1c", r["hba1c"], "%", when))
        entries.append(obs(pid, 5, "18262-6", "LDL cholesterol", r["ldl"], "mmol/L", when))
        smoke = "449868002" if r["smoker"] == "true" else "266919005"
        entries.append({"fullUrl": f"urn:uuid:obs-{pid}-6", "resource": {
            "resourceType": "Observation", "id": f"obs-{pid}-6", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "72166-2", "display": "Tobacco smoking status"}]},
            "subject": {"reference": f"Patient/{pid}"}, "effectiveDateTime": when,
            "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": smoke}]}}})
        if r["diagnosis"] != "none":
            entries.append({"fullUrl": f"urn:uuid:cond-{pid}", "resource": {
                "resourceType": "Condition", "id": f"cond-{pid}",
                "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
                "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": r["diagnosis"]}]},
                "subject": {"reference": f"Patient/{pid}"}}})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=300)
    ap.add_argument("--fhir-patients", type=int, default=40)
    ap.add_argument("--out", default="examples")
    ap.add_argument("--seed", type=int, default=20261129)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    rows = [patient(rng, i + 1) for i in range(a.patients)]
    fields = list(rows[0].keys())
    with open(f"{a.out}/patients.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    with open(f"{a.out}/patients.jsonl", "w") as f:
        for r in rows:
            j = dict(r)
            for k in ("age", "bp_sys", "bp_dia"):
                j[k] = int(j[k])
            for k in ("bmi", "glucose", "ldl"):
                j[k] = float(j[k])
            j["hba1c"] = None if j["hba1c"] == "" else float(j["hba1c"])
            j["diabetic"] = j["diabetic"] == "true"
            j["smoker"] = j["smoker"] == "true"
            f.write(json.dumps(j) + "\n")
    fhir_rows = [patient(rng, 90000 + i) for i in range(a.fhir_patients)]
    with open(f"{a.out}/patients-fhir.json", "w") as f:
        json.dump(fhir_bundle(fhir_rows), f, indent=1)
    me = patient(rng, 99999)
    me["patient_id"] = "me-0001"
    with open(f"{a.out}/my-record.json", "w") as f:
        f.write(json.dumps(me) + "\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Generates a synthetic, hospital-shaped FHIR R4 export of one 40-patient cohort (no real patient).

    python3 examples/generate_fhir_export.py            # (re)writes examples/fhir-hospital/
    python3 examples/generate_fhir_export.py --verify   # re-reads the written files and checks them

The same cohort is written twice: as one FHIR *transaction* Bundle per patient (Synthea style:
`urn:uuid:` fullUrls, resources without `id`, POST requests) and as FHIR Bulk Data NDJSON (one file
per resource type, resources with `id`, `Type/id` references). The ground truth (`expected.csv`,
`expected-rejects.csv`) is computed from the generator's own model of each patient, not by parsing
the files; `--verify` is the independent check: it re-reads the NDJSON with a separate, small
implementation of the mapping rules (driven by schema.json), compares it with the ground truth,
checks that every Bundle carries exactly the NDJSON resources, and that regenerating reproduces the
files byte for byte. Deterministic: fixed seed, uuid5 identifiers, standard library only.
"""
import argparse
import copy
import csv
import io
import json
import os
import random
import sys
import uuid
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, getcontext

getcontext().prec = 28

SEED = 20261202
N_PATIENTS = 40
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://hospital.example.org/medvault/fhir-hospital-export")
AS_OF = date(2026, 11, 1)
CUTOFF = datetime(2026, 11, 2, tzinfo=timezone.utc)  # effective at or after this instant: ignored
OUT_DEFAULT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fhir-hospital")

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SCT = "http://snomed.info/sct"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
LOCAL = "http://hospital.example.org/codes/problem-list"
MRN = "http://hospital.example.org/mrn"
CLIN = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDCAT = "http://terminology.hl7.org/CodeSystem/condition-category"
ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
DAR = "http://terminology.hl7.org/CodeSystem/data-absent-reason"

SCHEMA_TEXT = """{
  "name": "cardiometabolic-hospital-export",
  "description": "Cardiometabolic cohort read from a hospital's FHIR R4 export (transaction Bundles or Bulk NDJSON).",
  "idField": "patient_id",
  "policy": { "minCohort": 11 },
  "fhir": { "asOf": "2026-11-01" },
  "fields": [
    { "name": "age", "type": "uint", "min": 0, "max": 120, "unit": "a",
      "fhir": { "resource": "Patient", "element": "age" } },
    { "name": "sex", "type": "category", "codes": ["1", "2", "9"],
      "fhir": { "resource": "Patient", "element": "gender", "map": { "male": "1", "female": "2", "other": "9", "unknown": "9" } } },
    { "name": "bmi", "type": "decimal", "scale": 1, "min": "10.0", "max": "70.0", "unit": "kg/m2", "round": true,
      "fhir": { "resource": "Observation", "loinc": "39156-5" } },
    { "name": "bp_sys", "type": "uint", "min": 60, "max": 260, "unit": "mm[Hg]", "round": true,
      "fhir": { "resource": "Observation", "loinc": "8480-6" } },
    { "name": "bp_dia", "type": "uint", "min": 30, "max": 160, "unit": "mm[Hg]", "round": true,
      "fhir": { "resource": "Observation", "loinc": "8462-4" } },
    { "name": "glucose", "type": "decimal", "scale": 1, "min": "1.0", "max": "40.0", "unit": "mmol/L", "round": true,
      "fhir": { "resource": "Observation", "loinc": ["15074-8", "2339-0", "2345-7"], "molarMass": 180.156 } },
    { "name": "hba1c", "type": "decimal", "scale": 1, "min": "3.0", "max": "20.0", "unit": "%", "round": true,
      "required": false, "default": "5.5",
      "fhir": { "resource": "Observation", "loinc": "4548-4", "missing": "default" } },
    { "name": "ldl", "type": "decimal", "scale": 1, "min": "0.5", "max": "12.0", "unit": "mmol/L", "round": true,
      "fhir": { "resource": "Observation", "loinc": ["18262-6", "13457-7"], "molarMass": 386.654 } },
    { "name": "diagnosis", "type": "category",
      "codes": ["none", "I10", "E11", "I25", "I48", "I50", "J44", "N18", "E78", "E66"],
      "fhir": { "resource": "Condition", "icd10": true,
                "snomed": { "38341003": "I10", "44054006": "E11", "414545008": "I25", "49436004": "I48",
                            "84114007": "I50", "13645005": "J44", "709044004": "N18", "55822004": "E78", "414916001": "E66" },
                "rank": ["I50", "I25", "I48", "E11", "N18", "J44", "I10", "E78", "E66"],
                "otherwise": "none" } },
    { "name": "diabetic", "type": "bool",
      "fhir": { "resource": "Condition", "icd10": ["E11"], "snomed": ["44054006"] } },
    { "name": "smoker", "type": "bool",
      "fhir": { "resource": "Observation", "loinc": "72166-2",
                "map": { "449868002": "true", "428041000124106": "true", "8517006": "false", "266919005": "false" } } }
  ]
}
"""

CSV_HEADER = ["patient_id", "age", "sex", "bmi", "bp_sys", "bp_dia", "glucose", "hba1c", "ldl",
              "diagnosis", "diabetic", "smoker", "defaults"]
REJECT_HEADER = ["patient_id", "field", "reason"]
FIELD_ORDER = CSV_HEADER[1:-1]

# --------------------------------------------------------------------------------------------
# Terminology used by the generator (its own tables; --verify reads schema.json instead)
# --------------------------------------------------------------------------------------------

OBS_CODES = {  # kind -> (LOINC, display); the labs of the schema fields: LAB_DISPLAY
    "bmi": ("39156-5", "Body mass index (BMI) [Ratio]"),
    "weight": ("29463-7", "Body weight"),
    "height": ("8302-2", "Body height"),
    "bp": ("85354-9", "Blood pressure panel with all children optional"),
    "chol": ("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma"),
    "smoking": ("72166-2", "Tobacco smoking status"),
}
LAB_DISPLAY = {
    "15074-8": "Glucose [Moles/volume] in Blood",
    "2339-0": "Glucose [Mass/volume] in Blood",
    "2345-7": "Glucose [Mass/volume] in Serum or Plasma",
    "4548-4": "Hemoglobin A1c/Hemoglobin.total in Blood",
    "18262-6": "Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay",
    "13457-7": "Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation",
}
UNIT_DISPLAY = {"mm[Hg]": "mmHg", "kg/m2": "kg/m2", "kg": "kg", "cm": "cm",
                "mmol/L": "mmol/L", "mg/dL": "mg/dL", "%": "%"}
SMOKING = {
    "449868002": ("Smokes tobacco daily", True),
    "428041000124106": ("Occasional tobacco smoker", True),
    "8517006": ("Ex-smoker", False),
    "266919005": ("Never smoked tobacco", False),
}
OK_OBS_STATUS = {"final", "amended", "corrected"}
MOLAR = {"glucose": Decimal("180.156"), "ldl": Decimal("386.654")}
FIELD_KIND = {"bmi": "bmi", "bp_sys": "bp", "bp_dia": "bp", "glucose": "glucose", "hba1c": "hba1c",
              "ldl": "ldl", "smoker": "smoking"}
FIELD_SCALE = {"bmi": 1, "bp_sys": 0, "bp_dia": 0, "glucose": 1, "hba1c": 1, "ldl": 1}
FIELD_RANGE = {"bmi": ("10.0", "70.0"), "bp_sys": ("60", "260"), "bp_dia": ("30", "160"),
               "glucose": ("1.0", "40.0"), "hba1c": ("3.0", "20.0"), "ldl": ("0.5", "12.0")}

# ICD-10-CM code -> (display, SNOMED CT code, SNOMED display, schema code or None)
DX = {
    "E11.9": ("Type 2 diabetes mellitus without complications", "44054006", "Diabetes mellitus type 2 (disorder)", "E11"),
    "I10": ("Essential (primary) hypertension", "38341003", "Hypertensive disorder, systemic arterial (disorder)", "I10"),
    "E78.5": ("Hyperlipidemia, unspecified", "55822004", "Hyperlipidemia (disorder)", "E78"),
    "E66.9": ("Obesity, unspecified", "414916001", "Obesity (disorder)", "E66"),
    "I25.10": ("Atherosclerotic heart disease of native coronary artery without angina pectoris",
               "414545008", "Ischemic heart disease (disorder)", "I25"),
    "I48.91": ("Unspecified atrial fibrillation", "49436004", "Atrial fibrillation (disorder)", "I48"),
    "I50.9": ("Heart failure, unspecified", "84114007", "Heart failure (disorder)", "I50"),
    "J44.9": ("Chronic obstructive pulmonary disease, unspecified", "13645005",
              "Chronic obstructive lung disease (disorder)", "J44"),
    "N18.31": ("Chronic kidney disease, stage 3a", "709044004", "Chronic kidney disease (disorder)", "N18"),
    # irrelevant to the schema (roll up to no schema code)
    "J45.909": ("Unspecified asthma, uncomplicated", "195967001", "Asthma (disorder)", None),
    "K21.9": ("Gastro-esophageal reflux disease without esophagitis", "235595009",
              "Gastroesophageal reflux disease (disorder)", None),
    "G47.33": ("Obstructive sleep apnea (adult) (pediatric)", "78275009", "Obstructive sleep apnea syndrome (disorder)", None),
    "J02.9": ("Acute pharyngitis, unspecified", "195662009", "Acute viral pharyngitis (disorder)", None),
}
NOISE_DX = ["J45.909", "K21.9", "G47.33"]
RANK = ["I50", "I25", "I48", "E11", "N18", "J44", "I10", "E78", "E66"]
SNOMED_MAP = {v[1]: v[3] for v in DX.values() if v[3]}
LOCAL_DM2 = (LOCAL, "PL-0412", "Type 2 diabetes mellitus, diet-controlled")

GIVEN_M = ["James", "Robert", "Michael", "David", "William", "Richard", "Joseph", "Thomas", "Daniel",
           "Mark", "Paul", "Steven", "Andrew", "Kenneth", "George", "Edward", "Brian", "Ronald"]
GIVEN_F = ["Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah",
           "Karen", "Nancy", "Lisa", "Margaret", "Sandra", "Ashley", "Dorothy", "Carol", "Ruth"]
FAMILY = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
          "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson",
          "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis", "Walker", "Hall", "Young"]

# Coding style of each patient's Conditions (the rest: ICD-10-CM only)
SNOMED_ONLY = {2, 4, 6, 8, 10, 12, 14, 16, 20, 26, 28, 32, 38}
BOTH_CODINGS = {35, 36, 37, 39}
BP_ONE_DECIMAL = {9, 18, 27, 36}  # automated office BP: averaged readings with one decimal


def uid(name):
    return str(uuid.uuid5(NAMESPACE, name))


def dec(x, places, rounding=ROUND_HALF_UP):
    return Decimal(str(x)).quantize(Decimal(1).scaleb(-places), rounding=rounding)


def near_midpoint(v, scale):
    """True when v lies within 0.0001 of a rounding midpoint at `scale` decimals."""
    step = Decimal(1).scaleb(-scale)
    frac = (v / step) % 1
    return abs(frac - Decimal("0.5")) * step < Decimal("0.0001")


def eastern(d):
    """The hospital's offset (US Eastern): -04:00 from the 2nd Sunday of March to the 1st Sunday of November."""
    def sunday(y, m, n):
        first = date(y, m, 1)
        return first + timedelta(days=(6 - first.weekday()) % 7, weeks=n - 1)
    dst = sunday(d.year, 3, 2) <= d < sunday(d.year, 11, 1)
    return timezone(timedelta(hours=-4 if dst else -5))


def local(d, hh, mm):
    return datetime.combine(d, time(hh, mm), tzinfo=eastern(d))


def fixed(text):
    return datetime.fromisoformat(text)


def dt_text(t):
    return t.isoformat()


def instant_text(t):
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def age_on(birth, on):
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------

class Obs:
    def __init__(self, kind, loinc=None, visit=None, when=None, status="final"):
        self.kind = kind
        self.loinc = loinc or OBS_CODES[kind][0]
        self.visit = visit            # encounter index or None
        self.eff = ("dateTime", when) if when else None  # ("dateTime"|"instant", t) | ("period", start, end)
        self.issued = None
        self.status = status
        self.value = None  # ("qty", Decimal, ucum[, comparator]) | ("bp", sys, dia) | ("concept", sct)
        #                    | ("string", text) | ("absent", code, display)
        self.edge = None   # ("use"|"ignore", field names) for the discrimination self-check
        self.extra = False  # not part of a visit's routine set: written after the visits' results
        self.uuid = None

    def instant(self):
        if self.eff is None:
            return self.issued
        if self.eff[0] == "period":
            return self.eff[2] or self.eff[1]
        return self.eff[1]


class Cond:
    def __init__(self, codings, visit, onset, recorded, clin="active", ver="confirmed", abate=None,
                 category="problem-list-item"):
        self.codings, self.visit, self.onset, self.recorded = codings, visit, onset, recorded
        self.clin, self.ver, self.abate, self.category = clin, ver, abate, category
        self.uuid = None

    def counted(self):
        when = self.onset or self.recorded
        return (self.clin in ("active", "recurrence", "relapse") and self.ver in ("confirmed", None)
                and when < CUTOFF)

    def schema_codes(self):
        out = set()
        for system, code, _ in self.codings:
            if system == ICD and code[:3] in RANK:
                out.add(code[:3])
            elif system == SCT and code in SNOMED_MAP:
                out.add(SNOMED_MAP[code])
        return out

    def local_only(self):
        return not any(system in (ICD, SCT) for system, _, _ in self.codings)


class Patient:
    def __init__(self, n):
        self.n = n
        self.uuid = uid(f"patient-{n:02d}")
        self.visits = []       # (start, end) datetimes
        self.obs = []
        self.conds = []
        self.edges = []        # (letter, description, effect)

    def latest(self, kind, pred=None):
        cands = [o for o in self.obs if o.kind == kind and (pred is None or pred(o))]
        return max(cands, key=lambda o: o.instant())


def coding_for(style, icd):
    disp, sct, sdisp, _ = DX[icd]
    if style == "icd":
        return [(ICD, icd, disp)]
    if style == "snomed":
        return [(SCT, sct, sdisp)]
    return [(ICD, icd, disp), (SCT, sct, sdisp)]


def draw(gen, ok, what):
    for _ in range(10000):
        v = gen()
        if ok(v):
            return v
    raise RuntimeError(f"could not draw {what}")


def in_range(field, v):
    lo, hi = FIELD_RANGE[field]
    r = v.quantize(Decimal(1).scaleb(-FIELD_SCALE[field]), rounding=ROUND_HALF_EVEN)
    return Decimal(lo) <= r <= Decimal(hi)


def safe(field, exact):
    return in_range(field, exact) and not near_midpoint(exact, FIELD_SCALE[field])


def converted(field, value):
    """Exact value of a model ("qty", …) in the field's unit."""
    _, v, ucum = value[:3]
    if ucum == "mg/dL":
        return v * 10 / MOLAR[field]
    return v


class Gen:
    def __init__(self, rng):
        self.rng = rng

    def gauss(self, mu, sd, lo, hi):
        return min(hi, max(lo, self.rng.gauss(mu, sd)))

    def bp(self, p, sys_mu, dia_mu, shift=(0, 0)):
        places = 1 if p.n in BP_ONE_DECIMAL else 0

        def gen():
            s = dec(self.gauss(sys_mu + shift[0], 8, 88, 228), places)
            d = dec(self.gauss(min(dia_mu + shift[1], float(s) - 25), 6, 48, 128), places)
            return s, d
        return draw(gen, lambda sd: safe("bp_sys", sd[0]) and safe("bp_dia", sd[1]), "bp")

    def glucose(self, p, mu, unit, shift=0.0):
        if unit == "mmol/L":
            gen = lambda: dec(self.gauss(mu + shift, 0.45 if mu < 7 else 1.3, 3.4, 24.0), p.glu_places)
        else:
            gen = lambda: Decimal(round(self.gauss(mu + shift, 0.45 if mu < 7 else 1.3, 3.4, 24.0) * 18.0156))
        return draw(gen, lambda v: safe("glucose", converted("glucose", ("qty", v, unit))), "glucose")

    def hba1c(self, mu, shift=0.0):
        return draw(lambda: dec(self.gauss(mu + shift, 0.25 if mu < 6.5 else 0.6, 4.3, 13.5), 1),
                    lambda v: safe("hba1c", v), "hba1c")

    def ldl(self, mu_mgdl, shift=0.0):
        return draw(lambda: Decimal(round(self.gauss(mu_mgdl + shift, 14, 45, 260))),
                    lambda v: safe("ldl", converted("ldl", ("qty", v, "mg/dL"))), "ldl")

    def weight_bmi(self, p, w_mu):
        h = p.height

        def gen():
            w = dec(self.gauss(w_mu, 1.6, 38, 190), 1)
            return w, dec(w / (h / 100) ** 2, p.bmi_places)
        return draw(gen, lambda wb: safe("bmi", wb[1]), "bmi")


def visit_dates(rng, last_max=date(2026, 10, 20)):
    while True:
        early = sorted(date(2024, 1, 8) + timedelta(days=rng.randrange(700)) for _ in range(3))
        last = date(2026, 2, 1) + timedelta(days=rng.randrange((last_max - date(2026, 2, 1)).days + 1))
        ds = early + [last]
        if all((b - a).days >= 45 for a, b in zip(ds, ds[1:])):
            return ds


def make_patient(rng, n):
    g = Gen(rng)
    p = Patient(n)
    p.style = "snomed" if n in SNOMED_ONLY else "both" if n in BOTH_CODINGS else "icd"
    p.gender = {34: "other", 38: "unknown"}.get(n, rng.choice(["male", "female"]))
    male = p.gender == "male" or (p.gender != "female" and rng.random() < 0.5)
    age = rng.randint(34, 88)
    earliest = date(AS_OF.year - age - 1, 11, 2)
    p.birth = earliest + timedelta(days=rng.randrange((date(AS_OF.year - age, 11, 1) - earliest).days + 1))
    if n == 12:
        p.birth = date(1961, 11, 1)   # 65th birthday on asOf itself
        p.edges.append(("w1", "birthDate 1961-11-01: birthday falls on asOf", "age 65"))
    if n == 14:
        p.birth = date(1961, 11, 2)   # birthday the day after asOf
        p.edges.append(("w2", "birthDate 1961-11-02: birthday the day after asOf", "age 64"))
    assert p.birth <= AS_OF
    p.given = rng.choice(GIVEN_M if male else GIVEN_F)
    p.family = f"{rng.choice(FAMILY)}{rng.randint(100, 999)}"
    age = age_on(p.birth, AS_OF)

    # clinical profile
    p.height = dec(g.gauss(176 if male else 163, 7, 148, 198), 1)
    bmi0 = g.gauss(28.8, 5.2, 18.5, 46)
    p.bmi_places = rng.choice([1, 2, 2])
    p.glu_places = rng.choice([1, 1, 2])
    diabetic = rng.random() < min(0.6, 0.05 + 0.005 * max(0, age - 35) + 0.025 * max(0, bmi0 - 27))
    smoker = rng.random() < (0.3 if age < 55 else 0.17)
    sys0 = 108 + 0.45 * age + 0.7 * (bmi0 - 25) + rng.gauss(0, 10)
    dia0 = 0.5 * sys0 + 12 + rng.gauss(0, 5)
    ldl0 = g.gauss(125, 32, 60, 230)
    dx = []
    if diabetic:
        dx.append("E11.9")
    if sys0 > 140 or rng.random() < 0.3:
        dx.append("I10")
    if ldl0 > 150 or rng.random() < 0.25:
        dx.append("E78.5")
    if bmi0 >= 30 and rng.random() < 0.65:
        dx.append("E66.9")
    for code, pr in (("I25.10", 0.1 if age > 55 else 0.02), ("I48.91", 0.07 if age > 60 else 0.01),
                     ("I50.9", 0.05), ("J44.9", 0.3 if smoker else 0.04), ("N18.31", 0.07)):
        if rng.random() < pr:
            dx.append(code)
    noise = rng.sample(NOISE_DX, k=len(NOISE_DX))
    while noise and (len(dx) < 3 or (len(dx) < 5 and rng.random() < 0.25)):
        dx.append(noise.pop())
    dx = dx[:6]

    # deliberate condition sets (overriding the random draw)
    special = {
        3: ["E11.9", "I10", "E78.5", "K21.9"], 5: ["I50.9", "E11.9", "I10"], 7: ["I25.10", "I10", "E78.5"],
        9: ["I48.91", "E78.5", "E66.9"], 11: ["LOCAL", "I10", "G47.33"], 18: ["E11.9", "E78.5", "J45.909"],
        20: ["E66.9", "I10", "K21.9"], 24: ["I48.91", "I10", "E78.5"], 29: ["N18.31", "I10", "E78.5"],
        31: ["E11.9", "I50.9", "I10"], 32: ["J44.9", "E78.5", "G47.33"], 35: ["E11.9", "I10", "E66.9"],
        40: ["J45.909", "K21.9", "G47.33", "J02.9"],
    }
    if n in special:
        dx = special[n]
    diabetic = "E11.9" in dx or n == 11
    if n == 3:
        diabetic = False  # E11.9 refuted
    if n == 40:
        smoker = False

    # visits and encounters
    ds = visit_dates(rng, date(2026, 9, 30) if n == 17 else date(2026, 10, 20))
    for d in ds:
        start = local(d, rng.randint(8, 15), rng.choice([0, 15, 30, 45]))
        p.visits.append((start, start + timedelta(minutes=rng.choice([20, 30, 40, 45]))))

    # lab plan
    lab_visits = [0, 1, 2, 3]
    if rng.random() > 0.35:
        lab_visits.remove(rng.choice([0, 1, 2]))
    a1c_visits = list(lab_visits)
    if len(a1c_visits) == 4 and rng.random() < 0.5:
        a1c_visits.remove(rng.choice(a1c_visits[:-1]))
    if n in (21, 22):
        a1c_visits = []
    if n == 16:
        a1c_visits = [lab_visits[-1]]
    lipid_visits = sorted(rng.sample(lab_visits, k=rng.choice([2, 3]) if len(lab_visits) > 2 else 2))
    if n in (6, 10, 28) and lipid_visits[-1] != 3:
        lipid_visits = sorted(set(lipid_visits[1:] + [3]))
    p.glu_unit_code = {27: "15074-8"}.get(n, rng.choice(["15074-8", "15074-8", "2339-0", "2345-7"]))
    ldl_style = rng.choice(["18262-6", "18262-6", "18262-6", "13457-7", "mixed"])
    glu_mu = g.gauss(8.6, 1.8, 6.6, 14) if diabetic else g.gauss(5.3, 0.4, 4.3, 6.2)
    a1c_mu = g.gauss(7.6, 0.9, 6.5, 11) if diabetic else g.gauss(5.4, 0.3, 4.6, 6.1)
    if n == 3:
        a1c_mu = 6.1  # prediabetic range: the E11.9 was refuted
    if n == 33:
        a1c_mu = max(a1c_mu, 5.2)
    weight_mu = float(Decimal(str(bmi0)) * (p.height / 100) ** 2)
    smoke_code = (rng.choice(["449868002", "449868002", "428041000124106"]) if smoker
                  else rng.choice(["8517006", "266919005", "266919005"]))
    smoke_visits = [0] + ([rng.choice([2, 3])] if rng.random() < 0.5 else [])
    if n == 36:
        smoke_visits = [0, 3]

    for i, (start, _) in enumerate(p.visits):
        vt = start + timedelta(minutes=10)
        weight_mu += rng.gauss(0, 1.5)
        if n in (13, 26) and i == 3:
            weight_mu += 3.5  # make the latest BMI clearly differ from the one before
        w, b = g.weight_bmi(p, weight_mu)
        o = Obs("weight", visit=i, when=vt)
        o.value = ("qty", w, "kg")
        h = Obs("height", visit=i, when=vt)
        h.value = ("qty", p.height, "cm")
        bo = Obs("bmi", visit=i, when=vt)
        bo.value = ("qty", b, "kg/m2")
        s, d = g.bp(p, sys0, dia0)
        bp = Obs("bp", visit=i, when=vt)
        bp.value = ("bp", s, d)
        p.obs += [bp, h, o, bo]
        if i in smoke_visits:
            so = Obs("smoking", visit=i, when=start + timedelta(minutes=5))
            code = smoke_code
            if n == 36 and i == 0:
                code = "449868002"
            elif n == 36:
                code = "8517006"
            elif len(smoke_visits) == 2 and i == 0 and smoke_code == "8517006" and rng.random() < 0.6:
                code = "449868002"  # quit between the two visits
            so.value = ("concept", code)
            p.obs.append(so)
        if i in lab_visits:
            lt = start + timedelta(minutes=25)
            issued = lt + timedelta(hours=rng.randint(2, 30), minutes=rng.randint(0, 59))
            labs = []
            unit = "mmol/L" if p.glu_unit_code == "15074-8" else "mg/dL"
            go = Obs("glucose", loinc=p.glu_unit_code, visit=i, when=lt)
            go.value = ("qty", g.glucose(p, glu_mu, unit), unit)
            labs.append(go)
            if i in a1c_visits:
                ao = Obs("hba1c", loinc="4548-4", visit=i, when=lt)
                ao.value = ("qty", g.hba1c(a1c_mu), "%")
                labs.append(ao)
            if i in lipid_visits:
                code = ldl_style if ldl_style != "mixed" else rng.choice(["18262-6", "13457-7"])
                lo = Obs("ldl", loinc=code, visit=i, when=lt)
                ldl = g.ldl(ldl0)
                lo.value = ("qty", ldl, "mg/dL")
                co = Obs("chol", visit=i, when=lt)
                co.value = ("qty", ldl + Decimal(rng.randint(55, 95)), "mg/dL")
                labs += [lo, co]
            for lab in labs:
                lab.issued = issued
            p.obs += labs

    apply_observation_edges(p, g, rng, sys0, dia0, glu_mu, a1c_mu, ldl0)
    make_conditions(p, rng, dx)
    return p


def add_extra(p, o, edge=None):
    o.edge = edge
    o.extra = True
    p.obs.append(o)
    return o


def discriminates(p, o):
    """An edge result must change the outcome if an importer got it wrong: a result to "use" must differ
    from what the field would be without it; a result to "ignore" from what it would be if it counted."""
    how, fields = o.edge
    for f in fields:
        if how == "use":
            alt = model_value(p, f, obs=[x for x in p.obs if x is not o])
        elif o.value[0] in ("qty", "bp"):
            alt = model_value(p, f, force=o)
        else:
            continue
        if alt == model_value(p, f):
            return False
    return True


def settle(p, o, regen):
    """Redraw o's value until it discriminates."""
    for _ in range(1000):
        if discriminates(p, o):
            return
        o.value = regen()
    raise RuntimeError(f"patient {p.n}: cannot make edge {o.edge} discriminating")


def apply_observation_edges(p, g, rng, sys0, dia0, glu_mu, a1c_mu, ldl0):
    n = p.n
    if n == 2:
        o = Obs("bp", when=fixed("2026-11-01T20:30:00-05:00"))
        o.value = ("bp",) + g.bp(p, sys0, dia0, shift=(24, 12))
        add_extra(p, o, ("ignore", ["bp_sys", "bp_dia"]))
        settle(p, o, lambda: ("bp",) + g.bp(p, sys0, dia0, shift=(24, 12)))
        p.edges.append(("r", "BP panel at 2026-11-01T20:30:00-05:00 (= 2026-11-02T01:30Z, local date = asOf)",
                        "ignored: after the asOf instant"))
    if n == 4:
        unit = "mmol/L" if p.glu_unit_code == "15074-8" else "mg/dL"
        o = Obs("glucose", loinc=p.glu_unit_code, when=fixed("2026-11-01T23:30:00+02:00"))
        o.value = ("qty", g.glucose(p, glu_mu, unit, shift=1.4), unit)
        o.issued = fixed("2026-11-01T23:55:00+02:00")
        add_extra(p, o, ("use", ["glucose"]))
        settle(p, o, lambda: ("qty", g.glucose(p, glu_mu, unit, shift=1.4), unit))
        p.edges.append(("s", "glucose at 2026-11-01T23:30:00+02:00 (= 21:30Z on asOf), no encounter",
                        "used: latest glucose, inside asOf"))
    if n == 6:
        a = p.latest("ldl")
        a.issued = a.eff[1] + timedelta(days=5)
        o = Obs("ldl", loinc="18262-6")
        o.issued = a.eff[1] + timedelta(days=2)
        o.value = ("qty", g.ldl(ldl0, shift=28), "mg/dL")
        add_extra(p, o, ("use", ["ldl"]))
        settle(p, o, lambda: ("qty", g.ldl(ldl0, shift=28), "mg/dL"))
        p.edges.append(("t", "LDL with no effective[x], only `issued` (2 days after the previous LDL's "
                        "effectiveDateTime, 3 days before that one's `issued`)", "used: instant = issued"))
    if n == 8:
        a = p.latest("hba1c")
        a.eff = ("instant", a.eff[1])
        a.edge = ("use", ["hba1c"])
        settle(p, a, lambda: ("qty", g.hba1c(a1c_mu), "%"))
        p.edges.append(("u", "latest HbA1c carries `effectiveInstant` instead of effectiveDateTime",
                        "used"))
    if n == 10:
        a = p.latest("ldl")
        a.value = ("absent", "error", "Error")
        p.edges.append(("v", "latest LDL has no value but a `dataAbsentReason` (error)",
                        "skipped: the earlier LDL is used"))
    if n == 13:
        a = p.latest("bmi")
        start = p.visits[-1][0]
        a.eff = ("period", start, start + timedelta(minutes=12))
        a.edge = ("use", ["bmi"])
        p.edges.append(("f", "latest BMI carries only `effectivePeriod` (start/end)", "used: instant = period.end"))
    if n == 15:
        o = Obs("bp", when=fixed("2026-11-20T10:15:00-05:00"))
        o.value = ("bp",) + g.bp(p, sys0, dia0, shift=(26, 13))
        add_extra(p, o, ("ignore", ["bp_sys", "bp_dia"]))
        settle(p, o, lambda: ("bp",) + g.bp(p, sys0, dia0, shift=(26, 13)))
        p.edges.append(("g", "BP panel dated 2026-11-20 (after asOf) with other values",
                        "ignored: the last in-range panel is used"))
    if n == 17:
        # Created later-instant first, so the earlier one is also the later one in file order.
        a = Obs("bp", when=fixed("2026-10-15T23:30:00-05:00"))
        a.value = ("bp",) + g.bp(p, sys0, dia0, shift=(-14, -8))
        add_extra(p, a, ("use", ["bp_sys", "bp_dia"]))
        b = Obs("bp", when=fixed("2026-10-16T02:00:00+00:00"))
        b.value = ("bp",) + g.bp(p, sys0, dia0, shift=(18, 9))
        add_extra(p, b)
        while not (dec(a.value[1], 0, ROUND_HALF_EVEN) != dec(b.value[1], 0, ROUND_HALF_EVEN)
                   and dec(a.value[2], 0, ROUND_HALF_EVEN) != dec(b.value[2], 0, ROUND_HALF_EVEN)):
            b.value = ("bp",) + g.bp(p, sys0, dia0, shift=(18, 9))
        p.edges.append(("h", "two BP panels: 2026-10-15T23:30:00-05:00 (= 04:30Z on the 16th) and "
                        "2026-10-16T02:00:00+00:00; text order and file order say the +00:00 one is later",
                        "the -05:00 panel is used (later instant)"))
    if n == 19:
        a = p.latest("hba1c")
        a.value = ("string", "QNS")
        p.edges.append(("i", "latest HbA1c is `valueString: \"QNS\"`", "skipped: the earlier numeric HbA1c is used"))
    if n in (21, 22):
        p.edges.append(("j", "no HbA1c Observation at all", "hba1c = default 5.5 (`defaults` = hba1c)"))
    if n == 16:
        a = p.latest("hba1c")
        a.value = ("string", "Specimen clotted")
        p.edges.append(("x", "the only HbA1c is a `valueString` (\"Specimen clotted\")",
                        "no usable result: hba1c = default 5.5 (`defaults` = hba1c)"))
    if n == 23:
        texts = ["Hemolyzed specimen", "Specimen hemolyzed - recollect", "Insufficient sample", "See comment"]
        for i, o in enumerate(o for o in p.obs if o.kind == "glucose"):
            o.value = ("string", texts[i % len(texts)])
        p.edges.append(("k", "every glucose result is a `valueString`", "REJECTED: glucose, no usable result"))
    if n == 25:
        a = p.latest("glucose")
        unit = a.value[2]
        o = Obs("glucose", loinc=a.loinc, when=a.eff[1] + timedelta(days=2, hours=1), status="preliminary")
        o.value = ("qty", g.glucose(p, glu_mu, unit, shift=2.5), unit)
        o.issued = o.eff[1] + timedelta(hours=3)
        add_extra(p, o, ("ignore", ["glucose"]))
        settle(p, o, lambda: ("qty", g.glucose(p, glu_mu, unit, shift=2.5), unit))
        p.edges.append(("l", "latest glucose has status `preliminary`", "ignored: the last final glucose is used"))
    if n == 27:
        a = p.latest("glucose")
        a.loinc = "2345-7"
        mmol = p.latest("glucose", lambda o: o is not a)
        a.value = ("qty", draw(lambda: g.glucose(p, glu_mu, "mg/dL"),
                               lambda v: (converted("glucose", ("qty", v, "mg/dL")) - mmol.value[1]).copy_abs()
                               > Decimal("0.3"), "glucose"), "mg/dL")
        a.edge = ("use", ["glucose"])
        p.edges.append(("m", "glucose as 15074-8 in mmol/L at earlier visits, latest as 2345-7 in mg/dL",
                        "the mg/dL result is used, converted (x 10 / 180.156)"))
    if n == 33:
        a = p.latest("hba1c")
        a.value = ("qty", Decimal("4.0"), "%", "<")
        a.edge = ("ignore", ["hba1c"])
        p.edges.append(("p", "latest HbA1c is `valueQuantity` with comparator \"<\" (<4.0 %)",
                        "skipped: the earlier HbA1c is used"))
    if n == 26:
        a = p.latest("bmi")
        a.status = "amended"
        a.edge = ("use", ["bmi"])
        p.edges.append(("aa", "latest BMI has status `amended`", "used"))
    if n == 28:
        a = p.latest("ldl")
        a.status = "corrected"
        a.edge = ("use", ["ldl"])
        settle(p, a, lambda: ("qty", g.ldl(ldl0), "mg/dL"))
        p.edges.append(("ab", "latest LDL has status `corrected`", "used"))
    if n == 30:
        vt = p.visits[-1][0] + timedelta(minutes=12)
        o = Obs("bp", visit=3, when=vt, status="entered-in-error")
        o.value = ("bp",) + g.bp(p, sys0, dia0, shift=(30, 15))
        add_extra(p, o, ("ignore", ["bp_sys", "bp_dia"]))
        settle(p, o, lambda: ("bp",) + g.bp(p, sys0, dia0, shift=(30, 15)))
        p.edges.append(("ac", "latest BP panel has status `entered-in-error`", "ignored"))
    if n == 36:
        p.edges.append(("ad", "two smoking-status Observations: daily smoker, later ex-smoker",
                        "smoker = false (latest)"))
    if n in (34, 38):
        p.edges.append(("ae", f"gender `{p.gender}`", "sex = 9"))


def make_conditions(p, rng, dx):
    n = p.n
    v0 = p.visits[0][0]
    for code in dx:
        if code == "LOCAL":
            codings = [LOCAL_DM2]
        elif n == 18 and code == "E11.9":
            codings = [LOCAL_DM2, (ICD, "E11.9", DX["E11.9"][0])]
        else:
            codings = coding_for(p.style, code)
        vi = 0 if rng.random() < 0.65 else rng.randint(1, 3)
        vstart = p.visits[vi][0]
        if vi == 0:
            od = (vstart - timedelta(days=rng.randint(60, 4000))).date()
            onset = local(od, 0, 0)
        else:
            onset = vstart
        recorded = vstart + timedelta(minutes=20)
        c = Cond(codings, vi, onset, recorded)
        if rng.random() < 0.15:
            c.ver = None  # verificationStatus absent: counts like confirmed
        if vi > 0 and rng.random() < 0.3:
            c.category = "encounter-diagnosis"
        if code == "J02.9":  # acute, long resolved
            c.clin, c.abate = "resolved", onset + timedelta(days=10)
        p.conds.append(c)
    find = lambda icd: next(c for c in p.conds if any(cd[1] in (icd, DX[icd][1]) for cd in c.codings))
    if n == 3:
        c = find("E11.9")
        c.clin, c.ver = "active", "refuted"
        p.edges.append(("a", "E11.9 with verificationStatus `refuted` (clinicalStatus active), plus I10, E78.5",
                        "diabetic = false, diagnosis = I10"))
    if n == 5:
        c = find("I50.9")
        c.clin, c.ver = None, "entered-in-error"
        p.edges.append(("b", "I50.9 with verificationStatus `entered-in-error` (no clinicalStatus), plus E11.9, I10",
                        "diagnosis = E11"))
    if n == 7:
        c = find("I25.10")
        c.visit, c.onset, c.recorded = 0, v0 - timedelta(days=400), v0 + timedelta(minutes=20)
        c.clin, c.abate = "resolved", p.visits[2][0]
        p.edges.append(("c", "I25.10 with clinicalStatus `resolved`, plus I10, E78.5", "diagnosis = I10"))
    if n == 9:
        c = find("I48.91")
        c.onset = fixed("2026-11-20T09:00:00-05:00")
        c.recorded = fixed("2026-11-20T09:40:00-05:00")
        c.visit = None
        p.edges.append(("d", "I48.91 with onsetDateTime (and recordedDate) 2026-11-20, after asOf; plus E78.5, E66.9",
                        "diagnosis = E78"))
    if n == 11:
        p.edges.append(("e", "Condition coded only in the local system " + LOCAL + " (PL-0412, type 2 diabetes)",
                        "REJECTED: diagnosis and diabetic, unknown code system"))
    if n == 18:
        p.edges.append(("y", "E11.9 Condition whose first coding is the local system, second ICD-10-CM",
                        "counted normally: diabetic = true, diagnosis = E11"))
    if n == 20:
        c = find("E66.9")
        c.onset = None
        c2 = find("I10")
        c2.onset, c2.visit = None, None
        c2.recorded = fixed("2026-11-15T11:00:00-05:00")
        p.edges.append(("z", "E66 with no onsetDateTime (recordedDate 2024-2026); I10 with no onsetDateTime and "
                        "recordedDate 2026-11-15", "recordedDate decides: diagnosis = E66 (I10 not counted)"))
    if n == 24:
        c = find("I48.91")
        c.clin, c.ver = "recurrence", None
        p.edges.append(("af", "I48.91 with clinicalStatus `recurrence` and no verificationStatus, plus I10, E78.5",
                        "counted: diagnosis = I48"))
    if n == 29:
        p.edges.append(("n", "N18.31 (CKD stage 3a) plus I10, E78.5", "rolls up to N18: diagnosis = N18"))
    if n == 31:
        p.edges.append(("o", "E11.9 and I50.9 (and I10)", "diagnosis = I50 (rank), diabetic = true"))
    if n == 32:
        c = find("J44.9")
        c.clin = "relapse"
        p.edges.append(("ag", "COPD (SNOMED 13645005) with clinicalStatus `relapse`, plus E78", "counted: diagnosis = J44"))
    if n == 35:
        p.edges.append(("q", "every Condition carries an ICD-10-CM and a SNOMED CT coding (E11.9/44054006, ...)",
                        "diagnosis = E11, diabetic = true"))
    if n == 40:
        p.edges.append(("ah", "only conditions outside the schema (asthma, GERD, sleep apnea, resolved pharyngitis)",
                        "diagnosis = none, diabetic = false"))
    for c in p.conds:
        if c.local_only():
            assert c.counted(), "a local-only Condition must be unambiguous (counted)"


# --------------------------------------------------------------------------------------------
# Ground truth from the model
# --------------------------------------------------------------------------------------------

def model_results(p, field, obs=None, force=None):
    kind = FIELD_KIND[field]
    out = []
    for o in (obs if obs is not None else p.obs):
        if o.kind != kind:
            continue
        forced = o is force
        t = o.instant()
        if not forced and (o.status not in OK_OBS_STATUS or t >= CUTOFF):
            continue
        val = o.value
        if field == "smoker":
            v = "true" if SMOKING[val[1]][1] else "false"
        elif val[0] == "bp":
            v = val[1] if field == "bp_sys" else val[2]
        elif val[0] == "qty" and (len(val) == 3 or forced):
            v = converted(field, val)
        else:
            continue
        out.append((t, v, o))
    return out


def model_value(p, field, obs=None, force=None):
    res = model_results(p, field, obs, force)
    if not res:
        return None
    t = max(r[0] for r in res)
    top = [r for r in res if r[0] == t]
    assert len(top) == 1, f"patient {p.n}: two usable {field} results at {t}"
    v = top[0][1]
    if field == "smoker":
        return v
    return v.quantize(Decimal(1).scaleb(-FIELD_SCALE[field]), rounding=ROUND_HALF_EVEN)


def model_truth(p):
    """(row dict or None, rejects list)."""
    row, rejects, defaults = {"patient_id": p.uuid}, [], []
    row["age"] = str(age_on(p.birth, AS_OF))
    row["sex"] = {"male": "1", "female": "2"}.get(p.gender, "9")
    for field in ("bmi", "bp_sys", "bp_dia", "glucose", "hba1c", "ldl", "smoker"):
        # every generated value of a rounded field is safe (in range, away from midpoints)
        for _, v, _ in model_results(p, field):
            if field != "smoker":
                assert safe(field, v), (p.n, field, v)
        v = model_value(p, field)
        if v is None and field == "hba1c":
            v = Decimal("5.5")
            defaults.append("hba1c")
        if v is None:
            rejects.append((field, "no usable result"))
            continue
        row[field] = v if field == "smoker" else str(v)
    counted = [c for c in p.conds if c.counted()]
    if any(c.local_only() for c in p.conds):
        rejects += [("diagnosis", "unknown code system"), ("diabetic", "unknown code system")]
    codes = set().union(*(c.schema_codes() for c in counted)) if counted else set()
    row["diagnosis"] = next((c for c in RANK if c in codes), "none")
    row["diabetic"] = "true" if "E11" in codes else "false"
    row["defaults"] = ";".join(defaults)
    rejects.sort(key=lambda r: FIELD_ORDER.index(r[0]))
    return (None if rejects else row), rejects


def self_check_edges(p):
    """Each deliberate observation edge must change the outcome if an importer got it wrong."""
    for o in p.obs:
        if o.edge:
            assert discriminates(p, o), f"patient {p.n}: edge {o.edge} is not discriminating"


# --------------------------------------------------------------------------------------------
# Serialization
# --------------------------------------------------------------------------------------------

def num(v):
    return int(v) if v == v.to_integral_value() and v.as_tuple().exponent >= 0 else float(v)


def quantity(v, ucum, comparator=None):
    q = {"value": num(v)}
    if comparator:
        q["comparator"] = comparator
    q.update({"unit": UNIT_DISPLAY[ucum], "system": UCUM, "code": ucum})
    return q


def loinc_cc(code, display):
    return {"coding": [{"system": LOINC, "code": code, "display": display}]}


def ref(kind, u, bulk):
    return {"reference": f"{kind}/{u}" if bulk else f"urn:uuid:{u}"}


def with_id(res, u, bulk):
    return ({"resourceType": res["resourceType"], "id": u, **{k: v for k, v in res.items() if k != "resourceType"}}
            if bulk else res)


def patient_resource(p, bulk):
    r = {"resourceType": "Patient",
         "identifier": [{"system": MRN, "value": f"MRN-{1000 + p.n}"}],
         "name": [{"use": "official", "family": p.family, "given": [p.given]}],
         "gender": p.gender, "birthDate": p.birth.isoformat()}
    return with_id(r, p.uuid, bulk)


def encounter_resource(p, i, bulk):
    start, end = p.visits[i]
    r = {"resourceType": "Encounter", "status": "finished",
         "class": {"system": ACT, "code": "AMB", "display": "ambulatory"},
         "type": [{"coding": [{"system": SCT, "code": "185349003", "display": "Encounter for check up"}]}],
         "subject": ref("Patient", p.uuid, bulk),
         "period": {"start": dt_text(start), "end": dt_text(end)}}
    return with_id(r, p.enc_uuids[i], bulk)


def observation_resource(p, o, bulk):
    code = o.loinc
    display = OBS_CODES[o.kind][1] if o.kind in OBS_CODES else LAB_DISPLAY[code]
    r = {"resourceType": "Observation", "status": o.status,
         "code": loinc_cc(code, display), "subject": ref("Patient", p.uuid, bulk)}
    if o.visit is not None:
        r["encounter"] = ref("Encounter", p.enc_uuids[o.visit], bulk)
    if o.eff:
        if o.eff[0] == "dateTime":
            r["effectiveDateTime"] = dt_text(o.eff[1])
        elif o.eff[0] == "instant":
            r["effectiveInstant"] = dt_text(o.eff[1])
        else:
            r["effectivePeriod"] = {"start": dt_text(o.eff[1]), "end": dt_text(o.eff[2])}
    if o.issued:
        r["issued"] = instant_text(o.issued)
    val = o.value
    if val[0] == "qty":
        r["valueQuantity"] = quantity(val[1], val[2], val[3] if len(val) > 3 else None)
    elif val[0] == "string":
        r["valueString"] = val[1]
    elif val[0] == "absent":
        r["dataAbsentReason"] = {"coding": [{"system": DAR, "code": val[1], "display": val[2]}]}
    elif val[0] == "concept":
        r["valueCodeableConcept"] = {"coding": [{"system": SCT, "code": val[1], "display": SMOKING[val[1]][0]}]}
    elif val[0] == "bp":
        r["component"] = [
            {"code": loinc_cc("8480-6", "Systolic blood pressure"), "valueQuantity": quantity(val[1], "mm[Hg]")},
            {"code": loinc_cc("8462-4", "Diastolic blood pressure"), "valueQuantity": quantity(val[2], "mm[Hg]")}]
    return with_id(r, o.uuid, bulk)


def condition_resource(p, c, bulk):
    r = {"resourceType": "Condition"}
    if c.clin:
        r["clinicalStatus"] = {"coding": [{"system": CLIN, "code": c.clin}]}
    if c.ver:
        r["verificationStatus"] = {"coding": [{"system": VER, "code": c.ver}]}
    r["category"] = [{"coding": [{"system": CONDCAT, "code": c.category}]}]
    r["code"] = {"coding": [{"system": s, "code": k, "display": d} for s, k, d in c.codings]}
    r["subject"] = ref("Patient", p.uuid, bulk)
    if c.visit is not None:
        r["encounter"] = ref("Encounter", p.enc_uuids[c.visit], bulk)
    if c.onset:
        r["onsetDateTime"] = dt_text(c.onset)
    if c.abate:
        r["abatementDateTime"] = dt_text(c.abate)
    r["recordedDate"] = dt_text(c.recorded)
    return with_id(r, c.uuid, bulk)


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def assign_uuids(p):
    p.enc_uuids = [uid(f"patient-{p.n:02d}/encounter-{i + 1}") for i in range(len(p.visits))]
    for k, o in enumerate(p.obs):
        o.uuid = uid(f"patient-{p.n:02d}/observation-{k + 1:02d}")
    for k, c in enumerate(p.conds):
        c.uuid = uid(f"patient-{p.n:02d}/condition-{k + 1}")


def resources(p, bulk):
    out = [patient_resource(p, bulk)]
    out += [encounter_resource(p, i, bulk) for i in range(len(p.visits))]
    out += [observation_resource(p, o, bulk) for o in p.obs]
    out += [condition_resource(p, c, bulk) for c in p.conds]
    return out


def bundle(p):
    uuids = [p.uuid] + p.enc_uuids + [o.uuid for o in p.obs] + [c.uuid for c in p.conds]
    entries = [{"fullUrl": f"urn:uuid:{u}", "resource": r, "request": {"method": "POST", "url": r["resourceType"]}}
               for u, r in zip(uuids, resources(p, bulk=False))]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def csv_text(header, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def build():
    """The whole cohort: (patients, {relative path: text})."""
    rng = random.Random(SEED)
    patients = [make_patient(rng, n) for n in range(1, N_PATIENTS + 1)]
    files, bulk = {}, defaultdict(list)
    rows, rejects = [], []
    for p in patients:
        # observation order in the files: per visit, then the extra results in creation order
        p.obs.sort(key=lambda o: (1, 0) if o.extra else (0, o.visit))
        assign_uuids(p)
        self_check_edges(p)
        files[f"bundles/patient-{p.n:02d}.json"] = compact(bundle(p)) + "\n"
        for r in resources(p, bulk=True):
            bulk[r["resourceType"]].append(compact(r))
        row, rej = model_truth(p)
        if row:
            rows.append([row[h] for h in CSV_HEADER])
        rejects += [(p.uuid, f, why) for f, why in rej]
    for kind in ("Patient", "Encounter", "Observation", "Condition"):
        files[f"bulk/{kind}.ndjson"] = "\n".join(bulk[kind]) + "\n"
    files["expected.csv"] = csv_text(CSV_HEADER, rows)
    files["expected-rejects.csv"] = csv_text(REJECT_HEADER, rejects)
    files["schema.json"] = SCHEMA_TEXT
    files["README.md"] = readme(patients, rows, rejects, {k: len(v) for k, v in bulk.items()})
    return patients, files


def readme(patients, rows, rejects, counts):
    edges = sorted(((e[0], p, e[1], e[2]) for p in patients for e in p.edges),
                   key=lambda t: (len(t[0].rstrip("0123456789")), t[0], t[1].n))
    table = "\n".join(f"| {l} | {p.n:02d} | `{p.uuid}` | {d} | {eff} |" for l, p, d, eff in edges)
    rejected = sorted({r[0] for r in rejects})
    return f"""# Synthetic hospital FHIR R4 export (40 patients)

A synthetic (no real person), hospital-shaped FHIR R4 export of one cardiometabolic cohort, with its
ground truth, to test MedVault's FHIR import against `schema.json`. Generated deterministically by

    python3 examples/generate_fhir_export.py            # writes this directory
    python3 examples/generate_fhir_export.py --verify   # re-reads it and checks it against the truth

(standard-library Python 3, seed {SEED}, uuid5 identifiers; do not edit the files by hand).

| File | What |
|---|---|
| `bundles/patient-NN.json` | one FHIR **transaction** Bundle per patient (01-40), Synthea style: `fullUrl` `urn:uuid:…`, `request` POST, resources without `id`, references by `urn:uuid:` |
| `bulk/{{Patient,Encounter,Observation,Condition}}.ndjson` | the same resources as FHIR Bulk Data NDJSON: `id` = the bundle's uuid, references `Patient/<uuid>`, `Encounter/<uuid>` |
| `schema.json` | the vault schema (asOf 2026-11-01, LOINC / ICD-10-CM / SNOMED CT mappings) |
| `expected.csv` | the {len(rows)} patients that must be stored, values in the schema's units (`defaults` lists fields that took their schema default) |
| `expected-rejects.csv` | one row per (patient, field) problem of the {len(rejected)} patients that must be rejected |

Resources: {counts['Patient']} Patient, {counts['Encounter']} Encounter (4 ambulatory visits each, 2024-2026),
{counts['Observation']} Observation (BMI, weight, height and BP panel 85354-9 at every visit;
glucose 15074-8 mmol/L or 2339-0 / 2345-7 mg/dL, HbA1c, LDL 18262-6 / 13457-7 mg/dL and total cholesterol
at most visits; smoking status 72166-2), {counts['Condition']} Condition (ICD-10-CM, SNOMED CT for a third
of the patients, both codings for a few). Timestamps carry offsets (hospital: US Eastern).

The truth is computed from the generator's model, following the mapping rules: latest usable result
(status final/amended/corrected; no valueString, dataAbsentReason or comparator) at an instant before
2026-11-02T00:00Z over all of a field's LOINC codes; instant = effectiveDateTime, else effectivePeriod.end
(else .start), else effectiveInstant, else issued; mg/dL converted with the molar masses; ROUND_HALF_EVEN to
the field's scale (no generated value lies within 0.0001 of a rounding midpoint); Conditions counted when
active/recurrence/relapse, confirmed or unverified, with onset (else recordedDate) on or before asOf; diagnosis
by rank; a Condition coded in no known system rejects the patient.

## Deliberate edge cases

| Case | Patient | uuid | What | Expected |
|---|---|---|---|---|
{table}
"""


# --------------------------------------------------------------------------------------------
# --verify: an independent re-implementation of the rules, reading the NDJSON and schema.json
# --------------------------------------------------------------------------------------------

def verify(out):
    load = lambda s: json.loads(s, parse_float=Decimal, parse_int=Decimal)
    schema = json.load(open(os.path.join(out, "schema.json")))
    as_of = date.fromisoformat(schema["fhir"]["asOf"])
    cutoff = datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=timezone.utc)
    ndjson = {}
    for kind in ("Patient", "Encounter", "Observation", "Condition"):
        with open(os.path.join(out, "bulk", f"{kind}.ndjson"), encoding="utf-8") as f:
            lines = f.read().splitlines()
        ndjson[kind] = [load(line) for line in lines]
        assert all(r["resourceType"] == kind and "id" in r for r in ndjson[kind]), kind
    by_id = {(r["resourceType"], r["id"]): r for rs in ndjson.values() for r in rs}
    assert len(by_id) == sum(len(v) for v in ndjson.values()), "duplicate ids"
    per_patient = defaultdict(lambda: defaultdict(list))
    for kind in ("Encounter", "Observation", "Condition"):
        for r in ndjson[kind]:
            k, pid = r["subject"]["reference"].split("/")
            assert k == "Patient" and ("Patient", pid) in by_id
            if "encounter" in r:
                k, eid = r["encounter"]["reference"].split("/")
                assert k == "Encounter" and by_id[("Encounter", eid)]["subject"] == r["subject"]
            per_patient[pid][kind].append(r)

    def when(o):
        if "effectiveDateTime" in o:
            s = o["effectiveDateTime"]
        elif "effectivePeriod" in o:
            s = o["effectivePeriod"].get("end") or o["effectivePeriod"]["start"]
        elif "effectiveInstant" in o:
            s = o["effectiveInstant"]
        else:
            s = o["issued"]
        t = datetime.fromisoformat(s[:-1] + "+00:00" if s.endswith("Z") else s)
        assert t.tzinfo is not None, s
        return t

    def has_code(cc, system, codes):
        return any(c.get("system") == system and c.get("code") in codes for c in cc.get("coding", []))

    def obs_value(field, holder):
        fh = field["fhir"]
        if "valueString" in holder or "dataAbsentReason" in holder:
            return None
        if "map" in fh:
            c = holder["valueCodeableConcept"]["coding"][0]
            assert c["system"] == SCT and c["code"] in fh["map"], c
            return fh["map"][c["code"]]
        q = holder.get("valueQuantity")
        if q is None or "comparator" in q:
            return None
        assert q["system"] == UCUM, q
        if q["code"] == field["unit"]:
            return q["value"]
        if q["code"] == "mg/dL" and field["unit"] == "mmol/L":
            return q["value"] * 10 / Decimal(str(fh["molarMass"]))
        raise AssertionError(f"unit {q['code']} for {field['name']}")

    def fmt(field, v):
        if field["type"] == "bool":
            return v
        scale = field.get("scale", 0)
        step = Decimal(1).scaleb(-scale)
        frac = (v / step) % 1
        assert abs(frac - Decimal("0.5")) * step >= Decimal("0.0001"), (field["name"], v)
        r = v.quantize(step, rounding=ROUND_HALF_EVEN)
        assert Decimal(str(field["min"])) <= r <= Decimal(str(field["max"])), (field["name"], r)
        return str(r)

    rows, rejects = [], []
    for pat in ndjson["Patient"]:
        pid = pat["id"]
        res = per_patient[pid]
        row, rej, defaults = {"patient_id": pid}, [], []
        conds = []
        for c in res["Condition"]:
            when_c = datetime.fromisoformat(c.get("onsetDateTime") or c["recordedDate"])
            clin = [x["code"] for x in c.get("clinicalStatus", {}).get("coding", []) if x["system"] == CLIN]
            ver = [x["code"] for x in c.get("verificationStatus", {}).get("coding", []) if x["system"] == VER]
            counted = (clin and clin[0] in ("active", "recurrence", "relapse")
                       and (not ver or ver[0] == "confirmed") and when_c < cutoff)
            known = [x for x in c["code"]["coding"] if x["system"] in (ICD, SCT)]
            conds.append((counted, known))
        unknown_system = any(not known for _, known in conds)
        for field in schema["fields"]:
            name, fh = field["name"], field["fhir"]
            if fh["resource"] == "Patient":
                if fh["element"] == "age":
                    b = date.fromisoformat(pat["birthDate"])
                    row[name] = str(as_of.year - b.year - ((as_of.month, as_of.day) < (b.month, b.day)))
                else:
                    row[name] = fh["map"][pat["gender"]]
            elif fh["resource"] == "Observation":
                loincs = fh["loinc"] if isinstance(fh["loinc"], list) else [fh["loinc"]]
                found = []
                for o in res["Observation"]:
                    if o["status"] not in ("final", "amended", "corrected"):
                        continue
                    t = when(o)
                    if t >= cutoff:
                        continue
                    holders = ([o] if has_code(o["code"], LOINC, loincs) else []) + \
                              [c for c in o.get("component", []) if has_code(c["code"], LOINC, loincs)]
                    for h in holders:
                        v = None if "dataAbsentReason" in o else obs_value(field, h)
                        if v is not None:
                            found.append((t, v))
                if found:
                    t = max(f[0] for f in found)
                    top = [f for f in found if f[0] == t]
                    assert len(top) == 1, (pid, name, t)
                    for _, v in found:
                        fmt(field, v)  # every usable result: in range and away from midpoints
                    row[name] = fmt(field, top[0][1])
                elif fh.get("missing") == "default":
                    row[name] = field["default"]
                    defaults.append(name)
                else:
                    rej.append((name, "no usable result"))
            elif fh["resource"] == "Condition":
                if unknown_system:
                    rej.append((name, "unknown code system"))
                    continue
                hits = set()
                for counted, known in conds:
                    if not counted:
                        continue
                    for x in known:
                        if x["system"] == ICD:
                            code = x["code"][:3]
                            if (fh["icd10"] is True and code in field.get("codes", [])) or \
                                    (isinstance(fh["icd10"], list) and code in fh["icd10"]):
                                hits.add(code if field["type"] == "category" else True)
                        else:
                            sm = fh.get("snomed", {})
                            if isinstance(sm, dict) and x["code"] in sm:
                                hits.add(sm[x["code"]])
                            elif isinstance(sm, list) and x["code"] in sm:
                                hits.add(True)
                if field["type"] == "category":
                    row[name] = next((c for c in fh["rank"] if c in hits), fh["otherwise"])
                else:
                    row[name] = "true" if hits else "false"
        if rej:
            rejects += [(pid, f, why) for f, why in rej]
        else:
            row["defaults"] = ";".join(defaults)
            rows.append([row[h] for h in CSV_HEADER])
    with open(os.path.join(out, "expected.csv"), encoding="utf-8") as f:
        exp = f.read()
    with open(os.path.join(out, "expected-rejects.csv"), encoding="utf-8") as f:
        exp_rej = f.read()
    assert csv_text(CSV_HEADER, rows) == exp, "expected.csv differs from the NDJSON re-read"
    assert csv_text(REJECT_HEADER, rejects) == exp_rej, "expected-rejects.csv differs from the NDJSON re-read"

    # Bundles: exactly the NDJSON resources, without ids, urn:uuid references
    seen = set()
    sizes = []
    for n in range(1, N_PATIENTS + 1):
        path = os.path.join(out, "bundles", f"patient-{n:02d}.json")
        sizes.append(os.path.getsize(path))
        with open(path, encoding="utf-8") as f:
            b = load(f.read())
        assert b["resourceType"] == "Bundle" and b["type"] == "transaction"
        urls = {}
        for e in b["entry"]:
            assert e["fullUrl"].startswith("urn:uuid:") and "id" not in e["resource"]
            u = e["fullUrl"][len("urn:uuid:"):]
            assert str(uuid.UUID(u)) == u
            assert e["request"] == {"method": "POST", "url": e["resource"]["resourceType"]}
            urls[e["fullUrl"]] = f"{e['resource']['resourceType']}/{u}"
        for e in b["entry"]:
            r = copy.deepcopy(e["resource"])
            for key in ("subject", "encounter"):
                if key in r:
                    r[key]["reference"] = urls[r[key]["reference"]]  # must resolve inside the bundle
            kind, u = urls[e["fullUrl"]].split("/")
            r["id"] = u
            assert r == by_id[(kind, u)], f"bundle {n:02d}: {kind}/{u} differs from the NDJSON"
            assert (kind, u) not in seen
            seen.add((kind, u))
        assert b["entry"][0]["resource"]["identifier"][0] == {"system": MRN, "value": f"MRN-{1000 + n}"}
    assert seen == set(by_id), "NDJSON resources missing from the bundles"

    # The files on disk are what the generator produces now
    _, files = build()
    for rel, text in files.items():
        with open(os.path.join(out, rel), encoding="utf-8") as f:
            assert f.read() == text, f"{rel} is not what the generator writes (regenerate)"
    print(f"verify OK: {len(rows)} stored rows and {len(rejects)} reject rows "
          f"({len({r[0] for r in rejects})} patients) reproduced from the NDJSON; "
          f"{len(seen)} bundle resources identical to the NDJSON; bundle sizes "
          f"{min(sizes)}-{max(sizes)} bytes; files up to date")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=OUT_DEFAULT, help="output directory (default: examples/fhir-hospital)")
    ap.add_argument("--verify", action="store_true", help="check the written files instead of writing them")
    args = ap.parse_args()
    if args.verify:
        verify(args.out)
        return
    patients, files = build()
    for rel, text in sorted(files.items()):
        path = os.path.join(args.out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    counts = {k: files[f"bulk/{k}.ndjson"].count("\n") for k in ("Patient", "Encounter", "Observation", "Condition")}
    stored = files["expected.csv"].count("\n") - 1
    rejected = len({line.split(",")[0] for line in files["expected-rejects.csv"].splitlines()[1:]})
    total = sum(len(t.encode()) for t in files.values())
    print(f"wrote {len(files)} files to {args.out} ({total} bytes)")
    print("resources: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    print(f"patients: {stored} stored, {rejected} rejected")


if __name__ == "__main__":
    main()

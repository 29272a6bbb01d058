-- The child or young person and their family: the only tables holding personal data. Events and
-- deadlines refer to them by id, so `ehcd erase` can remove what identifies a person while every
-- date and outcome stays for the statistics. Enough for every SEN2 person, need and placement item.

-- NHS number: 10 digits, the last a modulus 11 check digit (weights 10..2; 11 -> 0; 10 is never
-- valid). NHS Data Dictionary, "NHS Number".
CREATE FUNCTION ehc_nhs_number_valid(n text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN n ~ '^[0-9]{10}$' THEN (
        SELECT 11 - s % 11 <> 10 AND (11 - s % 11) % 11 = substr(n, 10, 1)::int
        FROM (SELECT sum(substr(n, i, 1)::int * (11 - i)) AS s FROM generate_series(1, 9) AS i) AS t)
    ELSE false END
$$;

-- Unique Pupil Number: a check letter, then 12 characters (LA code, establishment, year, serial;
-- a temporary UPN ends in a letter). The check letter is sum(value * position) mod 23 over
-- positions 2..13, mapped to ABCDEFGHJKLMNPQRTUVWXYZ (0 = A ... 22 = Z); a letter in position 13
-- counts as its place in that alphabet. DfE "Unique pupil numbers (UPNs)", check letter algorithm.
CREATE FUNCTION ehc_upn_valid(u text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN u ~ '^[ABCDEFGHJKLMNPQRTUVWXYZ][0-9]{11}[0-9ABCDEFGHJKLMNPQRTUVWXYZ]$' THEN
        substr(u, 1, 1) = substr('ABCDEFGHJKLMNPQRTUVWXYZ', (
            SELECT (sum(CASE WHEN substr(u, i, 1) ~ '[0-9]' THEN ascii(substr(u, i, 1)) - 48
                             ELSE strpos('ABCDEFGHJKLMNPQRTUVWXYZ', substr(u, i, 1)) - 1 END * i) % 23)::int
            FROM generate_series(2, 13) AS i) + 1, 1)
    ELSE false END
$$;

CREATE TABLE children (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    authority_id        bigint NOT NULL REFERENCES local_authorities (id),
    forename            text CHECK (length(forename) BETWEEN 1 AND 100),
    surname             text CHECK (length(surname) BETWEEN 1 AND 100),
    preferred_name      text CHECK (length(preferred_name) <= 100),
    date_of_birth       date CHECK (date_of_birth >= DATE '1990-01-01'),
    -- SEN2 Sex: F, M, or U (not known)
    sex                 text CHECK (sex IN ('F', 'M', 'U')),
    -- DfE ethnicity code (e.g. WBRI, AIND, REFU, NOBT)
    ethnicity           text CHECK (ethnicity ~ '^[A-Z]{4}$'),
    -- National curriculum year: N1, N2, R, 1..14, or X (not following the NC)
    nc_year             text CHECK (nc_year ~ '^(N1|N2|R|[1-9]|1[0-4]|X)$'),
    nhs_number          text CHECK (ehc_nhs_number_valid(nhs_number)),
    upn                 text CHECK (ehc_upn_valid(upn)),
    uln                 text CHECK (uln ~ '^[0-9]{10}$'),
    address             text CHECK (length(address) <= 500),
    postcode            text CHECK (postcode ~ '^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$'),
    -- where the address must never be disclosed (e.g. a refuge, an adoption placement)
    confidential_address boolean NOT NULL DEFAULT false,
    first_language      text CHECK (length(first_language) <= 60),
    interpreter_needed  boolean NOT NULL DEFAULT false,
    -- a young person over compulsory school age makes their own requests and decisions (CFA s80)
    young_person_acts_for_self boolean NOT NULL DEFAULT false,
    consent_to_share    boolean,
    consent_recorded_on date,
    -- current educational setting: URN (schools) or UKPRN (colleges, other providers)
    setting_urn         text CHECK (setting_urn ~ '^[0-9]{6}$'),
    setting_ukprn       text CHECK (setting_ukprn ~ '^1[0-9]{7}$'),
    created_at          timestamptz NOT NULL DEFAULT now(),
    erased_at           timestamptz,
    UNIQUE (authority_id, id),
    -- personal data present unless erased
    CHECK ((erased_at IS NULL) = (surname IS NOT NULL AND date_of_birth IS NOT NULL))
);
CREATE INDEX children_nhs_number ON children (authority_id, nhs_number) WHERE nhs_number IS NOT NULL;
CREATE INDEX children_upn ON children (authority_id, upn) WHERE upn IS NOT NULL;
CREATE INDEX children_name_dob ON children (authority_id, lower(surname), date_of_birth);

-- Parents, carers and others around the child, including who holds parental responsibility.
CREATE TABLE family_contacts (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    authority_id        bigint NOT NULL,
    child_id            bigint NOT NULL,
    name                text CHECK (length(name) BETWEEN 1 AND 200),
    relationship        text NOT NULL CHECK (relationship IN ('mother', 'father', 'parent', 'carer',
                            'foster_carer', 'special_guardian', 'local_authority', 'other')),
    parental_responsibility boolean NOT NULL,
    main_contact        boolean NOT NULL DEFAULT false,
    phone               text CHECK (length(phone) <= 40),
    email               text CHECK (email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 254),
    address             text CHECK (length(address) <= 500),
    postcode            text CHECK (postcode ~ '^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$'),
    confidential_address boolean NOT NULL DEFAULT false,
    language            text CHECK (length(language) <= 60),
    interpreter_needed  boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    erased_at           timestamptz,
    FOREIGN KEY (authority_id, child_id) REFERENCES children (authority_id, id)
);
CREATE INDEX family_contacts_child ON family_contacts (child_id);

-- SEN2 SENtype, ranked: 1 primary need, 2 secondary.
CREATE TABLE child_needs (
    authority_id        bigint NOT NULL,
    child_id            bigint NOT NULL,
    rank                smallint NOT NULL CHECK (rank IN (1, 2)),
    sen_type            text NOT NULL CHECK (sen_type IN ('SPLD', 'MLD', 'SLD', 'PMLD', 'SEMH', 'SLCN',
                            'HI', 'VI', 'MSI', 'PD', 'ASD', 'DS', 'OTH')),
    PRIMARY KEY (child_id, rank),
    FOREIGN KEY (authority_id, child_id) REFERENCES children (authority_id, id)
);

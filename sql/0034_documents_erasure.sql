-- Erasure (`ehcd erase`, docs/data-protection.md) removes the bytes of a child's case documents
-- (advice reports and plans describe the child in full) and the documents' file names (which often
-- name the child); the record that a document existed stays: its kind, type, size, hash, who
-- uploaded it and when, as the statutory record of the case does.
GRANT SELECT, DELETE ON case_document_contents TO ehc_eraser;
GRANT SELECT, UPDATE (file_name) ON case_documents TO ehc_eraser;

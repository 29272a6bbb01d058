-- Erasure (`ehcd erase`, docs/data-protection.md) removes a child's letters with the rest of the
-- personal data: a letter's PDF names the child and the family. The sending events stay in the case
-- log (dates, notice and method only), as every other statutory record does.
GRANT SELECT, DELETE ON letters TO ehc_eraser;

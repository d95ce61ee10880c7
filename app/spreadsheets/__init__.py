"""What staff exchange with spreadsheet programs: CSV downloads (export.py: UTF-8 with a BOM,
cells never run as formulas) and CSV uploads of records (imports.py: any encoding Chinese
systems write, validated whole before anything is loaded, all or nothing)."""

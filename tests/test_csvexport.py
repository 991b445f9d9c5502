import csv
import io

import pytest

from koshigaya_vax.csvexport import csv_bytes, safe_cell


@pytest.mark.parametrize("cell", ['=HYPERLINK("x")', "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "＝1"])
def test_formula_cells_come_out_inert(cell):
    assert safe_cell(cell) == "'" + cell


def test_plain_values_are_unchanged():
    values = ["越谷 太郎", 3520, -1, None, True, "a=b"]
    assert [safe_cell(v) for v in values] == ["越谷 太郎", "3520", "-1", "", "1", "a=b"]


def test_csv_has_bom_crlf_and_round_trips():
    data = csv_bytes(["氏名", "備考"], [["越谷 太郎", '=HYPERLINK("x")'], ["改行\nあり", "a,b"]])
    assert data.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["氏名", "備考"], ["越谷 太郎", "'=HYPERLINK(\"x\")"], ["改行\nあり", "a,b"]]

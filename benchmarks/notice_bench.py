"""Benchmark of notice rendering (issue 5, "Performance"): pages per second for a 500-page ticket batch
on one core, and the size of the PDF.

    .venv/bin/python benchmarks/notice_bench.py                # the whole run (about 2-4 minutes)
    .venv/bin/python benchmarks/notice_bench.py --pages 100    # smaller, for a quick look
    .venv/bin/python benchmarks/notice_bench.py --out /tmp/x   # also keep the PDFs there

No database: rendering is pure (``eligibility.documents`` takes dataclasses, returns bytes). The process
pins itself to one CPU (``sched_setaffinity``) and every figure is given twice: per CPU second of this
process (``time.process_time``, what the code costs; independent of other load on the machine) and per
wall-clock second (what a user waits on this machine at this moment). In the same run:

(a) the floor: a minimal PDF of the same number of pages, one line of Japanese text each, through the same
    renderer (``koshigaya_vax.pdf.pdf_render``, same font, one WeasyPrint document) — the cost any page
    pays for WeasyPrint, the CJK font and the PDF writer;
(b) tickets: ``render_tickets`` of distinct synthetic tickets (names, addresses, ticket numbers, so
    every QR code and barcode differs), one WeasyPrint document for the whole batch;
(c) the fixed cost: one ticket alone (the per-document work: stylesheet, font subsetting, PDF writing);
(d) a batch chunk as the notice batch downloads it (``ELIGIBILITY_NOTICE_CHUNK_SIZE``, 100 by default).

Then the QR code and the Codabar barcode of the first and the last page of (b) are decoded (zxing-cpp) and
compared with the OCR line, so the figures are those of correct tickets. Target: (b) >= 10 pages/s.

Font subsetting is the largest fixed cost. WeasyPrint uses HarfBuzz-Subset (libharfbuzz-subset0, in the
Dockerfile) when the system has it, else fontTools in Python: about 5 CPU seconds per document for Noto
Sans CJK against 0.1 s. The run says which one it used. To measure the Dockerfile's setup on a machine
without the package, without installing it:

    cd /tmp && apt-get download libharfbuzz-subset0 && dpkg-deb -x libharfbuzz-subset0_*.deb hb
    LD_LIBRARY_PATH=/tmp/hb/usr/lib/x86_64-linux-gnu .venv/bin/python benchmarks/notice_bench.py
"""

import argparse
import io
import os
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FAMILY = ["越谷", "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "吉田", "蒲生",
          "千間台"]
GIVEN = ["太郎", "花子", "一郎", "美咲", "翔太", "陽菜", "健", "さくら", "大輔", "結衣"]
KANA_FAMILY = ["コシガヤ", "サトウ", "スズキ", "タカハシ", "タナカ", "イトウ", "ワタナベ", "ヤマモト", "ナカムラ",
               "コバヤシ", "カトウ", "ヨシダ", "ガモウ", "センゲンダイ"]
KANA_GIVEN = ["タロウ", "ハナコ", "イチロウ", "ミサキ", "ショウタ", "ヒナ", "ケン", "サクラ", "ダイスケ", "ユイ"]
TOWNS = ["越ヶ谷", "南越谷", "東越谷", "大沢", "千間台東", "蒲生", "大袋", "北越谷", "弥栄町", "七左町"]


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "koshigaya_vax.settings.dev")
    import django

    django.setup()
    import logging

    logging.getLogger("weasyprint").setLevel(logging.ERROR)  # one fontTools warning per font per document


def synthetic_tickets(count: int, *, seed: int = 5) -> list:
    from eligibility.documents import TicketData

    rng = random.Random(seed)
    tickets = []
    for n in range(count):
        f, g = rng.randrange(len(FAMILY)), rng.randrange(len(GIVEN))
        tickets.append(TicketData(
            ticket_number=f"{rng.randrange(10**10):010d}", ticket_type=1, dose_number=rng.randrange(1, 6),
            name=f"{FAMILY[f]} {GIVEN[g]}", name_kana=f"{KANA_FAMILY[f]} {KANA_GIVEN[g]}",
            postal_code=f"343{rng.randrange(10**4):04d}",
            address=f"埼玉県越谷市{rng.choice(TOWNS)}{rng.randrange(1, 10)}丁目{rng.randrange(1, 40)}番{n % 20 + 1}号",
            birth_date=date(1930, 1, 1) + timedelta(days=rng.randrange(95 * 365)),
            vaccine_name="新型コロナワクチン", campaign_name="令和8年度 新型コロナウイルス感染症予防接種",
            period_start=date(2026, 4, 1), period_end=date(2027, 3, 31), issued_on=date(2026, 4, 1),
        ))
    return tickets


def minimal_pdf(pages: int) -> bytes:
    """The floor: one line of Japanese text per page, written by WeasyPrint exactly as pdf_render does it
    (same base URL and local-only fetcher, same font), minus the Django template."""
    from weasyprint import HTML

    from koshigaya_vax.pdf import PDF_BASE_URL, local_only_fetcher_class

    body = "".join(f"<p>越谷市 予防接種 {n}</p>" for n in range(1, pages + 1))
    html = (
        '<!doctype html><html lang="ja"><head><meta charset="utf-8"><style>@page { size: A4; margin: 12mm }'
        ' html { font-family: "Noto Sans CJK JP", sans-serif; font-size: 10pt }'
        f" p {{ break-after: page; margin: 0 }}</style></head><body>{body}</body></html>"
    )
    return bytes(HTML(string=html, base_url=PDF_BASE_URL, url_fetcher=local_only_fetcher_class()()).write_pdf())


def measure(label: str, pages: int, render):  # type: ignore[no-untyped-def]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    content = render()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    print(f"{label:<44} {pages:>5} p  cpu {cpu:7.2f} s  {pages / cpu:7.1f} p/s   wall {wall:7.2f} s  "
          f"{pages / wall:7.1f} p/s   {len(content):>10,} B  {len(content) / pages / 1024:6.1f} KiB/p")
    return content, cpu, wall


def page_count(content: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(content)).pages)


def decode_page(content: bytes, index: int) -> dict:
    import pypdfium2
    import zxingcpp

    document = pypdfium2.PdfDocument(content)
    try:
        image = document[index].render(scale=3).to_pil()
    finally:
        document.close()
    return {r.format: r.text for r in zxingcpp.read_barcodes(image)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--chunk", type=int, default=None, help="chunk size for (d); default the setting")
    parser.add_argument("--out", type=Path, default=None, help="keep the PDFs in this folder")
    args = parser.parse_args()

    cpu = sorted(os.sched_getaffinity(0))[-1]
    os.sched_setaffinity(0, {cpu})
    _setup_django()
    from django.conf import settings
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    from eligibility.documents import ocr_line, render_tickets

    subsetter = "HarfBuzz-Subset" if harfbuzz_subset and harfbuzz.hb_version_atleast(4, 1, 0) else "fontTools"
    chunk = args.chunk or settings.ELIGIBILITY_NOTICE_CHUNK_SIZE
    print(f"one core (cpu {cpu}); font subsetting by {subsetter}; {args.pages} pages; chunk {chunk}")
    tickets = synthetic_tickets(args.pages)
    render_tickets(tickets[:1])  # warm up: imports, fontconfig, template loading

    floor, floor_cpu, floor_wall = measure("(a) floor: minimal Japanese text PDF", args.pages,
                                           lambda: minimal_pdf(args.pages))
    batch, batch_cpu, batch_wall = measure("(b) tickets: render_tickets, one document", args.pages,
                                           lambda: render_tickets(tickets))
    _single, single_cpu, _ = measure("(c) fixed cost: one ticket", 1, lambda: render_tickets(tickets[:1]))
    measure(f"(d) one batch chunk of {chunk}", min(chunk, args.pages), lambda: render_tickets(tickets[:chunk]))

    assert page_count(batch) == args.pages and page_count(floor) == args.pages
    for index in (0, args.pages - 1):
        expected = ocr_line(tickets[index])
        codes = {str(k).split(".")[-1]: v for k, v in decode_page(batch, index).items()}
        assert set(codes.values()) == {expected, f"A{expected}A"}, (index, codes, expected)
    print(f"decoded QR and Codabar of pages 1 and {args.pages}: both equal the OCR line")
    print(f"ratio tickets / floor: cpu {batch_cpu / floor_cpu:.2f}x, wall {batch_wall / floor_wall:.2f}x;"
          f" per ticket page beyond the fixed cost: {(batch_cpu - single_cpu) / max(args.pages - 1, 1) * 1000:.1f}"
          " ms cpu")
    print(f"target >= 10 pages/s: cpu {args.pages / batch_cpu:.1f} p/s, wall {args.pages / batch_wall:.1f} p/s")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "tickets.pdf").write_bytes(batch)
        (args.out / "floor.pdf").write_bytes(floor)
    return 0


if __name__ == "__main__":
    sys.exit(main())

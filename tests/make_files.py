#!/usr/bin/env python3
"""make_files.py DIR - writes the small files the attachment tests upload:
a PNG, a JPEG header, a WEBP, a GIF of one frame and an animated one, a
PDF with a line of text, a text file, and a Windows program named .png."""
import struct, sys, zlib, os

d = sys.argv[1]


def w(name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def chunk(t, b):
    return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b))


# A real 3x2 RGB PNG.
raw = b"".join(b"\0" + bytes([255, 0, 0] * 3) for _ in range(2))
w("a.png", b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 3, 2, 8, 2, 0, 0, 0))
  + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
# A JPEG's markers up to its frame header: 640x480.
w("b.jpg", b"\xff\xd8\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0\1\1\0\0\1\0\1\0\0"
  + b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 480, 640, 1) + b"\1\x11\0" + b"\xff\xd9")
# An extended WEBP, 100x50.
vp8x = b"VP8X" + struct.pack("<I", 10) + b"\0\0\0\0" + (99).to_bytes(3, "little") + (49).to_bytes(3, "little")
w("c.webp", b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x)


def gif(frames):
    out = b"GIF89a" + struct.pack("<HH", 4, 4) + b"\x80\0\0" + b"\0\0\0\xff\xff\xff"
    for _ in range(frames):
        out += b"\x21\xf9\x04\0\x0a\0\0\0"          # graphic control
        out += b"\x2c" + struct.pack("<HHHH", 0, 0, 4, 4) + b"\0"
        out += b"\x02\x02\x44\x01\0"                 # LZW size 2, one block
    return out + b"\x3b"


w("d.gif", gif(1))
w("anim.gif", gif(2))
# A PDF of one page saying "Hello from the PDF".
objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 100] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        None,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
stream = b"BT /F1 12 Tf 20 50 Td (Hello from the PDF) Tj ET"
objs[3] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
pdf = b"%PDF-1.4\n"
offs = []
for i, o in enumerate(objs):
    offs.append(len(pdf))
    pdf += b"%d 0 obj\n" % (i + 1) + o + b"\nendobj\n"
xref = len(pdf)
pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
for o in offs:
    pdf += b"%010d 00000 n \n" % o
pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
w("e.pdf", pdf)
w("notes.md", "# Notes\n\nprint('héllo')\n".encode())
# A Windows program (MZ header, NULs) with an image's name.
w("setup.png", b"MZ\x90\0\3\0\0\0\4\0\0\0\xff\xff\0\0" + bytes(range(256)) * 4)

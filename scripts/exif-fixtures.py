#!/usr/bin/env python3
"""Writes the EXIF fixtures in shared/tests/fixtures/exif/ with the real tools phones' photos
pass through: piexif, Pillow, exiftool and ImageMagick. Run once by hand when a writer is
added (the fixtures are committed; CI does not need these tools):

    pip install piexif pillow && apt-get install libimage-exiftool-perl imagemagick
    python3 scripts/exif-fixtures.py

Every fixture says the same thing: taken 2026-11-18 09:12:00 China time, at 25.7512 N,
108.9123 E (a village in Rongshui), so one test checks them all."""
import io, os, subprocess, sys
from fractions import Fraction

import piexif
from PIL import Image

OUT = os.path.join(os.path.dirname(__file__), "..", "shared", "tests", "fixtures", "exif")
WHEN = "2026:11:18 09:12:00"
LAT, LON = 25.7512, 108.9123


def base() -> bytes:
    img = Image.new("RGB", (96, 64))
    img.putdata([(x * 2, y * 3, (x + y) % 256) for y in range(64) for x in range(96)])
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def dms(v: float):
    d = int(v)
    m = int((v - d) * 60)
    s = Fraction((v - d - m / 60) * 3600).limit_denominator(10000)
    return ((d, 1), (m, 1), (s.numerator, s.denominator))


def write(name: str, data: bytes):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    plain = base()
    write("none.jpg", plain)

    # piexif: writes no next-IFD offset after the Exif sub-IFD.
    exif = {
        "0th": {piexif.ImageIFD.Make: b"Baoxue", piexif.ImageIFD.DateTime: WHEN.encode()},
        "Exif": {piexif.ExifIFD.DateTimeOriginal: WHEN.encode()},
        "GPS": {
            piexif.GPSIFD.GPSLatitudeRef: b"N",
            piexif.GPSIFD.GPSLatitude: dms(LAT),
            piexif.GPSIFD.GPSLongitudeRef: b"E",
            piexif.GPSIFD.GPSLongitude: dms(LON),
        },
    }
    out = io.BytesIO()
    piexif.insert(piexif.dump(exif), plain, out)
    write("piexif.jpg", out.getvalue())

    # Pillow: its own Exif writer, GPS in the GPS IFD.
    img = Image.open(io.BytesIO(plain))
    e = Image.Exif()
    e[0x010F] = "Baoxue"
    e[0x0132] = WHEN
    e.get_ifd(0x8769)[0x9003] = WHEN
    gps = e.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = tuple(Fraction(n, d) for n, d in dms(LAT))
    gps[3] = "E"
    gps[4] = tuple(Fraction(n, d) for n, d in dms(LON))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85, exif=e)
    write("pillow.jpg", buf.getvalue())

    # exiftool, as editors and many apps write it.
    path = os.path.join(OUT, "exiftool.jpg")
    write("exiftool.jpg", plain)
    subprocess.run(
        ["exiftool", "-q", "-overwrite_original", f"-DateTimeOriginal={WHEN}",
         f"-GPSLatitude={LAT}", "-GPSLatitudeRef=N", f"-GPSLongitude={LON}",
         "-GPSLongitudeRef=E", path],
        check=True,
    )

    # ImageMagick resizing the exiftool photo: the EXIF block travels with it.
    subprocess.run(
        ["/usr/bin/convert", path, "-resize", "50%", os.path.join(OUT, "imagemagick.jpg")],
        check=True,
    )
    print("written:", sorted(os.listdir(OUT)))


if __name__ == "__main__":
    sys.exit(main())

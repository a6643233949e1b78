"""The sandbox's "CDN" and post pages: a flat-colour JPEG for every picture, a stub MP4 for videos."""

import struct

from flask import abort, current_app, render_template

from portal.sandbox import bp, media, seeds

SIZE = 64
QUANT = 16
# An MP4 "ftyp" box and an empty "mdat": enough for anything that sniffs the file type.
MP4 = (
    struct.pack(">I", 24)
    + b"ftypisom"
    + struct.pack(">I", 512)
    + b"isomiso2"
    + struct.pack(">I", 8)
    + b"mdat"
)
KINDS = {"IMAGE": "Photo", "VIDEO": "Reel", "CAROUSEL_ALBUM": "Carousel"}


def _segment(marker, payload):
    return b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload


def _scan(dcs):
    """Return the entropy-coded data and the DC categories used: every block is its DC term alone."""
    categories = sorted({abs(dc).bit_length() for dc in dcs} | {0})
    codes = {category: index for index, category in enumerate(categories)}  # 4-bit codes, never all ones
    bits = []

    def put(value, length):
        bits.extend((value >> (length - 1 - i)) & 1 for i in range(length))

    for block in range((SIZE // 8) ** 2):
        for dc in dcs:
            diff = dc if block == 0 else 0
            category = abs(diff).bit_length()
            put(codes[category], 4)
            if category:
                put(diff if diff > 0 else diff + (1 << category) - 1, category)
            put(0, 1)  # end of block: the AC table's only code
    bits.extend([1] * (-len(bits) % 8))
    data = bytearray()
    for at in range(0, len(bits), 8):
        data.append(int("".join(map(str, bits[at : at + 8])), 2))
        if data[-1] == 0xFF:
            data.append(0)
    return bytes(data), categories


def solid_jpeg(rgb):
    """Return a valid baseline JPEG, SIZE pixels square, of one colour."""
    r, g, b = rgb
    ycc = (
        0.299 * r + 0.587 * g + 0.114 * b,
        128 - 0.168736 * r - 0.331264 * g + 0.5 * b,
        128 + 0.5 * r - 0.418688 * g - 0.081312 * b,
    )
    data, categories = _scan([round(8 * (value - 128) / QUANT) for value in ycc])
    dc_counts = bytes([0, 0, 0, len(categories)] + [0] * 12)
    ac_counts = bytes([1] + [0] * 15)
    frame = b"\x08" + struct.pack(">HH", SIZE, SIZE) + b"\x03\x01\x11\x00\x02\x11\x00\x03\x11\x00"
    return b"".join(
        (
            b"\xff\xd8",
            _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            _segment(0xDB, b"\x00" + bytes([QUANT] * 64)),
            _segment(0xC0, frame),
            _segment(0xC4, b"\x00" + dc_counts + bytes(categories) + b"\x10" + ac_counts + b"\x00"),
            _segment(0xDA, b"\x03\x01\x00\x02\x00\x03\x00\x00\x3f\x00"),
            data,
            b"\xff\xd9",
        )
    )


def colour(item):
    """Return the item's own colour."""
    return tuple(int(seeds.between(40, 220, item.id, channel)) for channel in "rgb")


@bp.get("/media/<media_id>.<extension>")
def media_file(media_id, extension):
    """Serve a post's or a live story's picture (.jpg) or video (.mp4)."""
    item = media.find(media_id) or abort(404)
    if extension == "jpg":
        body, mimetype = solid_jpeg(colour(item)), "image/jpeg"
    elif extension == "mp4" and item.media_type == "VIDEO":
        body, mimetype = MP4, "video/mp4"
    else:
        abort(404)
    response = current_app.response_class(body, mimetype=mimetype)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def _page(item):
    kind = "Story" if item.is_story else KINDS[item.media_type]
    picture = media.file_url(item, thumbnail=True)
    return render_template(
        "sandbox/media_page.html", media=item, kind=kind, picture=picture, posted=seeds.iso(item.posted)
    )


@bp.get("/instagram/<any(p, reel):kind>/<media_id>/")
def post_page(kind, media_id):
    """Show a post the way its permalink would on instagram.com."""
    return _page(media.find(media_id) or abort(404))


@bp.get("/instagram/stories/<username>/<media_id>/")
def story_page(username, media_id):
    """Show a live story the way its permalink would on instagram.com."""
    item = media.find(media_id)
    if item is None or not item.is_story or item.account.username != username:
        abort(404)
    return _page(item)

"""Why a photo upload was refused, for stations, officials and supervisors alike."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

PHOTO_MESSAGES: dict[str, Any] = {
    "photo_empty": _l("请选择照片文件。"),
    "photo_too_large": _l(
        "照片文件太大，上限 %(maximum_mb)s MB。请在手机相册里“编辑”后另存一张，或换一张再上传。"
    ),
    "photo_not_image": _l(
        "这个文件不是可以识别的照片。只接受 JPEG、PNG 或 WebP 格式的照片，"
        "不接受 GIF、SVG、HEIC、PDF 或其他文件。"
    ),
    "photo_unreadable": _l("照片文件已损坏或不完整，无法读取。请重新拍摄或重新导出后上传。"),
    "photo_too_many_pixels": _l("照片像素太多，上限 %(maximum)s 万像素。请缩小后再上传。"),
    "photo_too_small": _l(
        "照片太小（%(width)s×%(height)s 像素），短边至少要 %(minimum)s 像素，居民才看得清。"
    ),
    "photo_duplicate": _l("这张照片已经上传过了。"),
    "photo_limit": _l("每个项目最多 %(maximum)s 张照片，请先删除不需要的照片。"),
    "photo_alt_required": _l(
        "请写一句照片说明，例如“3幢北侧空地现状”。读屏软件会把它读给视力不好的居民听。"
    ),
    "photo_alt_too_long": _l("照片说明最多 %(maximum)s 个字。"),
    "photo_round_closed": _l("列入该项目的投票已经结束，不能再增加照片。"),
}

"""Sentences for the roll import's error codes (merged into ``messages.MESSAGES``)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

ROLL_MESSAGES: dict[str, Any] = {
    # the file as a whole
    "roll_bad_csv": _l(
        "CSV 文件格式有误（第 %(line)s 行附近），请在 Excel 中重新另存为“CSV UTF-8”。"
    ),
    "roll_bad_xlsx": _l("文件不是有效的 Excel（.xlsx）文件，或文件已损坏。"),
    "roll_xls_legacy": _l(
        "不支持旧版 Excel（.xls）文件，请在 Excel 中另存为 .xlsx 或“CSV UTF-8”。"
    ),
    "roll_no_sheet": _l("Excel 文件中没有工作表。"),
    "roll_zip_entries": _l(
        "Excel 文件结构异常（包含 %(entries)s 个部件，上限 %(maximum)s 个），已拒绝读取。"
    ),
    "roll_zip_too_large": _l(
        "Excel 文件解压后过大（约 %(size)s MB，上限 %(maximum)s MB），已拒绝读取。"
    ),
    "roll_too_many_rows": _l("文件超过 %(maximum)s 行，请分批导入。"),
    "full_roll_unknown_community": _l("指定为完整名册的社区不在本街道：%(community)s。"),
    "full_roll_community_empty": _l(
        "文件中没有以下社区的居民，不能作为其完整名册导入（否则该社区全部居民都会被标为迁出）："
        "%(community)s。"
    ),
    # the upload kept between preview and confirmation
    "roll_upload_missing": _l("预览已过期或已经导入过，请重新上传文件。"),
    "roll_upload_changed": _l("预览后文件被改动过，已拒绝导入。请重新上传并核对预览。"),
    # one row
    "id_as_number": _l("身份证号被 Excel 存成了数字，请把该列设为文本"),
    "phone_as_number": _l("手机号被 Excel 存成了科学计数法的数字，请把该列设为文本"),
    "cell_as_number": _l("“%(column)s”列被 Excel 存成了科学计数法的数字，请把该列设为文本"),
    "name_too_long": _l("姓名超过 40 个字"),
    "address_too_long": _l("楼栋、单元或房号超过 20 个字"),
    "status_unknown": _l("状态应为“在册”或“迁出”（或留空，表示在册）"),
}

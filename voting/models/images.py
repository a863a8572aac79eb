"""The columns every stored photo has: two re-encoded JPEG files named by their SHA-256."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column


class StoredImage:
    """A phone-size photo and its 4:3 thumbnail, with the sentence a screen reader reads.

    Each file on disk is named by the SHA-256 of its own bytes, so its URL never changes
    meaning and can be cached for ever.
    """

    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int]
    height: Mapped[int]
    size_bytes: Mapped[int]
    thumb_sha256: Mapped[str] = mapped_column(String(64))
    thumb_width: Mapped[int]
    thumb_height: Mapped[int]
    thumb_size_bytes: Mapped[int]
    original_size_bytes: Mapped[int]
    alt_text: Mapped[str] = mapped_column(String(120))

    def shown_height(self, width: int) -> int:
        """The height of the phone-size photo drawn ``width`` CSS pixels wide."""
        return max(1, round(self.height * width / self.width))


def image_checks() -> tuple[CheckConstraint, ...]:
    """The CHECKs every photo table carries (fresh objects: a constraint has one table)."""
    return (
        CheckConstraint(
            "width > 0 AND height > 0 AND thumb_width > 0 AND thumb_height > 0",
            name="dimensions_positive",
        ),
        CheckConstraint(
            "size_bytes > 0 AND thumb_size_bytes > 0 AND original_size_bytes > 0",
            name="sizes_positive",
        ),
        CheckConstraint("length(sha256) = 64 AND length(thumb_sha256) = 64", name="sha256_length"),
        # Screen readers read it: a photo without a description is refused.
        CheckConstraint("alt_text <> ''", name="alt_text_required"),
    )

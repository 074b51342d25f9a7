"""The gallery: list, read, download and delete results, addressed by id only."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import FileResponse, Response

from .deps import get_state
from .state import ServerState

router = APIRouter(tags=["results"])

_MEDIA = {".png": "image/png", ".jpg": "image/jpeg", ".mp4": "video/mp4", ".gif": "image/gif"}
_PARTS = {"thumb.jpg": "thumb.jpg", "source": "source.png", "mask": "mask.png"}


def _item(item_id: str, state: ServerState) -> dict:
    item = state.store.get(item_id)
    if item is None:
        raise HTTPException(404, f"no result {item_id!r}")
    return item


def _send(state: ServerState, item_id: str, name: str, download: str | None = None) -> FileResponse:
    folder = state.store.folder(item_id)
    path = folder / name if folder is not None else None
    if path is None or not path.is_file():
        raise HTTPException(404, f"result {item_id!r} has no {name}")
    return FileResponse(path, media_type=_MEDIA.get(path.suffix, "application/octet-stream"),
                        filename=download, content_disposition_type="attachment" if download else "inline")


@router.get("/results", summary="Every result kept, newest first")
def items(state: ServerState = Depends(get_state)) -> dict:
    return {"items": state.store.items()}


@router.get("/results/{item_id}", summary="One result: its settings, command and files")
def item(item_id: str, state: ServerState = Depends(get_state)) -> dict:
    return _item(item_id, state)


@router.get("/results/{item_id}/file", summary="The full-size result (?download=1 for an attachment)")
def result_file(item_id: str, download: bool = False, state: ServerState = Depends(get_state)) -> FileResponse:
    found = _item(item_id, state)
    return _send(state, item_id, found["file_name"], found["download_name"] if download else None)


@router.get("/results/{item_id}/{part}", summary="thumb.jpg, source (the photo) or mask")
def result_part(item_id: str, part: str, state: ServerState = Depends(get_state)) -> FileResponse:
    if part not in _PARTS:
        raise HTTPException(404, f"no {part!r}; one of {', '.join(_PARTS)}")
    _item(item_id, state)
    return _send(state, item_id, _PARTS[part])


@router.delete("/results/{item_id}", status_code=204, summary="Delete a result")
def delete(item_id: str, state: ServerState = Depends(get_state)) -> Response:
    if not state.store.delete(item_id):
        raise HTTPException(404, f"no result {item_id!r}")
    return Response(status_code=204)

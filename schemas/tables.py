"""Arrow schemas of every table a stage writes (DESIGN.md section 2).

Each schema carries its name and version in its metadata. A change that old readers can still
read (a new nullable column) bumps the minor version; anything else bumps the major version,
and readers refuse a major version they do not know.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_NAME_KEY = b"soccerfactory.schema"
SCHEMA_VERSION_KEY = b"soccerfactory.version"

_f32, _f64, _i32, _i64, _str, _bool = (pa.float32(), pa.float64(), pa.int32(), pa.int64(),
                                      pa.string(), pa.bool_())


def _schema(name: str, version: str, fields: list[pa.Field]) -> pa.Schema:
    return pa.schema(fields, metadata={SCHEMA_NAME_KEY: name.encode(),
                                       SCHEMA_VERSION_KEY: version.encode()})


def _f(name: str, typ: pa.DataType, nullable: bool = False) -> pa.Field:
    return pa.field(name, typ, nullable=nullable)


# Every per-frame table starts with these: which video, which shot, which frame (0-based).
_FRAME_KEYS = [_f("video", _str), _f("shot", _i32), _f("frame", _i64)]
_BOX = [_f("x1", _f32), _f("y1", _f32), _f("x2", _f32), _f("y2", _f32)]

SEGMENTS = _schema("segments", "1.0", [
    _f("video", _str),
    _f("path", _str),
    _f("fps", _f64),
    _f("width", _i32),
    _f("height", _i32),
    _f("num_frames", _i64),  # frames that decode in the whole video
    _f("shot", _i32),
    _f("segment", _i32),  # index within the video, over all shots
    _f("start_frame", _i64),
    _f("end_frame", _i64),  # exclusive
])

KEYPOINT = pa.struct([_f("id", pa.int16()), _f("x", _f32), _f("y", _f32),
                      _f("visible", _bool), _f("confidence", _f32)])
LINE = pa.struct([_f("cls", _str), _f("points", pa.list_(pa.list_(_f32, 2))),
                  _f("confidence", _f32)])

CALIBRATION = _schema("calibration", "1.1", [
    *_FRAME_KEYS,
    _f("image", _str, True),  # source file name when calibrating still images
    _f("width", _i32),
    _f("height", _i32),
    _f("status", _str),  # vocab.CALIBRATION_STATUSES
    # SoccerNet camera parameters at the source resolution; null unless status is ok.
    _f("pan_degrees", _f64, True),
    _f("tilt_degrees", _f64, True),
    _f("roll_degrees", _f64, True),
    _f("position_meters", pa.list_(_f64, 3), True),
    _f("x_focal_length", _f64, True),
    _f("y_focal_length", _f64, True),
    _f("principal_point", pa.list_(_f64, 2), True),
    _f("radial_distortion", pa.list_(_f64, 6), True),
    _f("tangential_distortion", pa.list_(_f64, 2), True),
    _f("thin_prism_distortion", pa.list_(_f64, 4), True),
    _f("homography", pa.list_(_f64, 9), True),  # image pixels -> pitch metres, row-major
    _f("keypoints", pa.list_(KEYPOINT), True),  # ids from schemas.pitch.KEYPOINT_NAMES
    _f("lines", pa.list_(LINE), True),  # classes from schemas.pitch.LINE_CLASSES
    _f("reprojection_error", _f32, True),  # pixels
    # 1.1: how much to trust the camera, in [0, 1] (factory/calibration/confidence.py; below
    # its CONFIDENCE_THRESHOLD likely wrong); null unless status is ok, and in 1.0 files.
    _f("confidence", _f32, True),
])

DETECTIONS = _schema("detections", "1.1", [
    *_FRAME_KEYS,
    _f("image", _str, True),
    *_BOX,  # source-image pixels
    _f("score", _f32),
    _f("class", _str),  # vocab.DETECTION_CLASSES
    _f("source", _str),  # vocab.BOX_SOURCES
    # Still images only (`soccerfactory detect`): the person's role and team from the
    # appearance of the image's people; null in videos, where tracklets decide them.
    _f("role", _str, True),
    _f("team", _str, True),
])

TRACKS = _schema("tracks", "1.0", [
    *_FRAME_KEYS,
    _f("track_id", _i64),  # unique within the video's shot
    *_BOX,
    _f("score", _f32),
    _f("class", _str),
    _f("source", _str),
    _f("embedding", pa.list_(_f32), True),
    _f("pitch_x", _f32, True),  # bottom-middle of the box on the pitch, metres
    _f("pitch_y", _f32, True),
])

# The repair stage's output (factory/repair): the tracks with ids unique within the VIDEO after
# segment joins, identity-switch splits and fragment merges, plus the boxes gap recovery added.
REPAIRED_TRACKS = _schema("repaired_tracks", "1.0", [
    *_FRAME_KEYS,
    _f("track_id", _i64),  # unique within the video, 1..N in order of first appearance
    *_BOX,
    _f("score", _f32),  # a recovered box: the recovery backend's confidence
    _f("class", _str),
    _f("source", _str),  # vocab.BOX_SOURCES
    _f("embedding", pa.list_(_f32), True),
    _f("pitch_x", _f32, True),
    _f("pitch_y", _f32, True),
    _f("source_track_id", _i64),  # the tracks table's id (unique within the shot)
    _f("recovered", _bool),  # box added by gap recovery (or the tracker's own backfill)
    _f("id_fixed", _bool),  # id changed by an identity-switch split or a fragment merge
])

# One row per crop sampled from a track (factory/identity/crops.py): the few most readable
# ones are read; others are sampled only for the kit's appearance (reader null, jersey null).
READINGS = _schema("readings", "1.1", [
    *_FRAME_KEYS,
    _f("track_id", _i64),  # the tracks table's id (unique within the shot)
    _f("jersey", _str, True),  # null: unreadable, or not read
    _f("jersey_confidence", _f32),
    _f("role", _str, True),  # null: the reader does not judge roles
    _f("role_confidence", _f32),
    _f("reader", _str, True),  # engine name; null: sampled for appearance only
    _f("crop_score", _f32, True),  # readability the crop was chosen by, in [0, 1]
    _f("kit", pa.list_(_f32), True),  # kit colour descriptor of the crop (identity/kit.py)
])

GAMESTATE = _schema("gamestate", "1.0", [
    *_FRAME_KEYS,
    _f("track_id", _i64),  # unique within the video, after cross-shot identity
    *_BOX,
    _f("score", _f32),
    _f("role", _str),  # vocab.ROLES, or "ball"
    _f("team", _str, True),
    _f("jersey", _str, True),
    _f("pitch_x", _f32, True),
    _f("pitch_y", _f32, True),
    _f("recovered", _bool),  # box added by repair, not the detector
    _f("id_fixed", _bool),  # track id changed by repair or cross-shot identity
])

VOTE = pa.struct([_f("value", _str), _f("count", _i32), _f("weight", _f32)])
# The (shot, track id) pairs of `repaired_tracks` that one tracklet joins (2.0: ids of the
# repaired tracks, unique within the video; 1.x named the tracks table's per-shot ids).
PART = pa.struct([_f("shot", _i32), _f("track_id", _i64)])
TRACKLETS = _schema("tracklets", "2.0", [
    _f("video", _str),
    _f("track_id", _i64),  # unique within the video; the gamestate's track id
    _f("shots", pa.list_(_i32)),
    _f("first_frame", _i64),
    _f("last_frame", _i64),
    _f("num_boxes", _i32),
    _f("role", _str),
    _f("team", _str, True),
    _f("jersey", _str, True),
    _f("role_votes", pa.list_(VOTE)),
    _f("jersey_votes", pa.list_(VOTE)),
    _f("embedding", pa.list_(_f32), True),  # mean appearance the roles and teams came from
    _f("parts", pa.list_(PART), True),
    # How sure each decision is, in [0, 1] (vote margin; cluster membership for the team).
    _f("role_confidence", _f32, True),
    _f("team_confidence", _f32, True),
    _f("jersey_confidence", _f32, True),
    _f("pitch_x", _f32, True),  # mean pitch position over the track's boxes, metres
    _f("pitch_y", _f32, True),
])

# Ball actions (FOOTPASS) and match events, ground truth or predicted.
EVENTS = _schema("events", "1.0", [
    _f("video", _str),
    _f("frame", _i64),
    _f("team", _str, True),
    _f("jersey", _str, True),
    _f("label", _str),  # a FOOTPASS action or one of vocab.EVENT_CLASSES
    _f("score", _f32, True),  # null for ground truth
])

# Ground truth only the synthetic world knows, one row per rendered person or ball per frame
# (joins gamestate on video, frame, track_id). The gamestate truth boxes follow the label
# convention (vocab.LABEL_BOX_MARGIN); tight_* is the box of the drawn pixels themselves.
SYNTH_PERSONS = _schema("synth_persons", "1.1", [
    *_FRAME_KEYS,
    _f("track_id", _i64),
    _f("visible_pixels", _i32),
    _f("occlusion", _f32),  # fraction of the in-frame figure hidden by others or graphics
    _f("facing_degrees", _f32, True),  # direction the person faces on the pitch (x axis = 0)
    _f("number_side", _str, True),  # front / back: the side whose number is drawn; null: none
    _f("number_height", _f32, True),  # pixels
    _f("jersey_readable", _bool),  # the number is drawn, large enough and unoccluded
    _f("height_m", _f32, True),  # ball: height above the grass, metres
    *[_f(f"tight_{c}", _f32, True) for c in ("x1", "y1", "x2", "y2")],  # x2, y2 exclusive
])

# Training shards (pipelines/shards.py writes them, model/data reads them): one row per clip
# of T frames, every label the encoder's heads train on. Image coordinates are in the shard's
# letterboxed frame: shard = source * scale + (offset_x, offset_y).
SHARD_BOX = pa.struct([
    *_BOX,
    _f("track_id", _i64),  # unique within the video
    _f("role", _str),  # vocab.ROLES or "ball"
    _f("team", _str, True),  # vocab.TEAMS
    _f("jersey", _str, True),
    _f("score", _f32),  # detection score (1 for truth)
    _f("role_confidence", _f32, True),  # the tracklet's vote margins (null for truth)
    _f("team_confidence", _f32, True),
    _f("jersey_confidence", _f32, True),
    _f("pitch_x", _f32, True),  # bottom-middle on the pitch, metres (null: no camera)
    _f("pitch_y", _f32, True),
])
SHARD_KEYPOINT = pa.struct([_f("id", pa.int16()), _f("x", _f32), _f("y", _f32),
                            _f("visible", _bool)])
SHARD_LINE = pa.struct([_f("cls", _str), _f("points", pa.list_(pa.list_(_f32, 2)))])
# SoccerNet camera parameters at the source resolution (null where the camera is unknown).
SHARD_CAMERA = pa.struct([
    _f("pan_degrees", _f64), _f("tilt_degrees", _f64), _f("roll_degrees", _f64),
    _f("position_meters", pa.list_(_f64)), _f("x_focal_length", _f64),
    _f("y_focal_length", _f64), _f("principal_point", pa.list_(_f64)),
])
SHARD_EVENT = pa.struct([
    _f("frame", _i64),  # source frame number
    _f("offset", _i32),  # index within the clip's frames (nearest sampled frame)
    _f("team", _str, True),
    _f("jersey", _str, True),
    _f("label", _str),  # a FOOTPASS action or one of vocab.EVENT_CLASSES
    # The actor's track among the clip's boxes (for annotated boxes: the one that overlaps the
    # actor's true box); null where the actor has no box or the event names no player.
    _f("track_id", _i64, True),
])
SHARD_CLIPS = _schema("shard_clips", "1.2", [
    _f("video", _str),
    _f("clip_id", _str),  # <video>:<first frame>
    _f("source", _str),  # the run directory or label file the clip came from
    _f("split", _str),  # vocab.SPLITS; a video never spans two splits
    _f("label_source", _str),  # vocab.LABEL_SOURCES, for boxes and cameras
    _f("ball_source", _str),  # vocab.BALL_SOURCES, for the boxes of role "ball"
    _f("fps", _f64),
    _f("source_width", _i32),
    _f("source_height", _i32),
    _f("size", _i32),  # the square shard frame's side, pixels
    _f("scale", _f32),
    _f("offset_x", _f32),
    _f("offset_y", _f32),
    _f("frame_numbers", pa.list_(_i64)),  # T source frame numbers, `stride` apart
    _f("jpeg", pa.list_(pa.binary())),  # T letterboxed frames
    _f("boxes", pa.list_(pa.list_(SHARD_BOX))),  # per frame
    # Pitch targets per frame; pitch_mask false where the camera failed or the frame is not a
    # pitch view (keypoints, lines and camera are then empty / null and must not be trained).
    _f("pitch_mask", pa.list_(_bool)),
    _f("calibration_status", pa.list_(_str)),
    _f("reprojection_error", pa.list_(_f32)),  # pixels; NaN where unknown
    _f("camera", pa.list_(SHARD_CAMERA)),
    _f("keypoints", pa.list_(pa.list_(SHARD_KEYPOINT))),  # template keypoints projected
    _f("lines", pa.list_(pa.list_(SHARD_LINE))),  # template lines projected, sampled points
    _f("events", pa.list_(SHARD_EVENT)),  # ball actions and match events inside the clip
    _f("captions", pa.list_(_str)),  # several phrasings of what happens (may be empty)
])

ERRORS = _schema("errors", "1.0", [
    _f("stage", _str),
    _f("video", _str),
    _f("segment", _i32, True),  # null when the whole video failed (e.g. in planning)
    _f("exception", _str),
    _f("message", _str),
    _f("attempt", _i32),
    _f("time", pa.timestamp("ms", tz="UTC")),
])

SCHEMAS: dict[str, pa.Schema] = {
    s.metadata[SCHEMA_NAME_KEY].decode(): s
    for s in (SEGMENTS, CALIBRATION, DETECTIONS, TRACKS, REPAIRED_TRACKS, READINGS, GAMESTATE, TRACKLETS,
              EVENTS, SYNTH_PERSONS, SHARD_CLIPS, ERRORS)
}

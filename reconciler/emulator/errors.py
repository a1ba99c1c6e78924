"""SMH error codes as the emulator answers them: `ApiError` and the message for each code."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    "AccessTokenNotMatchSpace": "Access token does not match the space.",
    "BadGateway": "Bad gateway.",
    "BadRequest": "Bad request.",
    "DirectoryNotFound": "Directory not found.",
    "EmptyAccessToken": "Access token is empty.",
    "EmptyLibraryIdOrSecret": "Library id or library secret is empty.",
    "EmptyPath": "Path is empty.",
    "EmptySpaceId": "Space id is empty.",
    "FileHistoryEnabled": "File history must be disabled before it can be cleared.",
    "FileNotFound": "File not found.",
    "GatewayTimeout": "Gateway timeout.",
    "IllegalFileName": "Illegal file name.",
    "InternalServerError": "Internal server error.",
    "InvalidAccessToken": "Invalid access token.",
    "InvalidConflictResolutionStrategy": "Invalid conflict resolution strategy.",
    "InvalidFileHistoryCount": "Invalid file history count.",
    "InvalidFileHistoryExpireDay": "Invalid file history expire day.",
    "InvalidFileHistoryMergeInterval": "Invalid file history merge interval.",
    "InvalidSpaceOrDirectoryPath": "Invalid space or directory path.",
    "LibraryNotFound": "Library not found.",
    "MarkerNotFound": "Marker not found.",
    "NoItemsProvided": "No items provided.",
    "NoPermission": "No permission.",
    "NotMultiSpaceLibrary": "The library is not a multi-space library.",
    "ParamInvalid": "Invalid parameter.",
    "PathConflict": "Concurrent operations on the same path.",
    "RateLimitExceeded": "Rate limit exceeded.",
    "RecycleBinNotEnabled": "Recycle bin is not enabled.",
    "RecycledItemNotFound": "Recycled item not found.",
    "RootDirectoryNotAllowed": "The root directory is not allowed.",
    "RouteNotFound": "Route not found.",
    "SameNameDirectoryOrFileExists": "A directory or file with the same name exists.",
    "ServerOverloaded": "Server overloaded.",
    "SpaceNotFound": "Space not found.",
    "TaskNotFound": "Task not found.",
    "TooManyItems": "Too many items.",
    "WrongLibraryIdOrSecret": "Wrong library id or secret.",
}

# The code an injected error of each status carries.
STATUS_CODES: dict[int, str] = {
    400: "BadRequest",
    403: "NoPermission",
    404: "FileNotFound",
    409: "SameNameDirectoryOrFileExists",
    429: "RateLimitExceeded",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServerOverloaded",
    504: "GatewayTimeout",
}


def message_for(code: str) -> str:
    return MESSAGES.get(code, f"{code}.")


class ApiError(Exception):
    """An error answer: HTTP status, SMH code and message (and optional extra headers)."""

    def __init__(self, status: int, code: str, message: str | None = None, *,
                 headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.code = code
        self.message = message if message is not None else message_for(code)
        self.headers = headers or {}
        super().__init__(f"{status} {code}: {self.message}")

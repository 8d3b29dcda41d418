"""Deletes the multipart-upload parts Alibaba Cloud VOD leaves behind after an upload."""

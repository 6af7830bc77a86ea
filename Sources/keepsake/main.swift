import CFFmpeg
import CExif
import CHeif
import CJPEG
import CLCMS2
import CSodium
print(avformat_version(), sodium_init(), String(cString: heif_get_version()), cmsGetEncodedCMMversion(), JPEG_LIB_VERSION, exif_data_new() != nil, cffmpeg_averror_eof())

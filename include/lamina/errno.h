/* Error codes: functions return 0 or a negative HV_E* value. */
#ifndef LAMINA_ERRNO_H
#define LAMINA_ERRNO_H

#define HV_EPERM 1
#define HV_ENOENT 2
#define HV_EIO 5
#define HV_E2BIG 7
#define HV_ENOMEM 12
#define HV_EFAULT 14
#define HV_EBUSY 16
#define HV_EEXIST 17
#define HV_ENODEV 19
#define HV_EINVAL 22
#define HV_ERANGE 34
#define HV_ENOSYS 38
#define HV_ETIMEDOUT 110
#define HV_EOPNOTSUPP 95
#define HV_ECANCELED 125

#endif

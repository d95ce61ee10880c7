"""The second factor of city staff: app/second_factor.py bound to their recovery codes."""
from app.models.staff import RecoveryCode
from app.second_factor import (  # noqa: F401  (the console's views use them from here)
    RECOVERY_CODE,
    TOTP,
    SecondFactor,
    enrolment,
    matching_step,
    pending_secret,
)

staff_second_factor = SecondFactor(RecoveryCode, RecoveryCode.staff_id)
check_totp = staff_second_factor.check_totp
confirm = staff_second_factor.confirm
use_recovery_code = staff_second_factor.use_recovery_code
verify = staff_second_factor.verify
recovery_codes_left = staff_second_factor.recovery_codes_left
